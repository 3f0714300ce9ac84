"""How the HubSpot simulator turns CRM changes into webhook events: for the subscription and the simple target."""

from __future__ import annotations

import json
import time
from typing import Any

from simulators.hubspot.state import HubSpotStore
from simulators.webhook_sender import deliver, hubspot_v3_headers

__all__ = ["HubSpotEvents"]


class HubSpotEvents(HubSpotStore):
    """CRM changes as events: to the subscription's dispatcher, and to the ``POST /_sim/webhooks`` target."""

    def webhook_event(
        self, kind: str, deal_id: str, prop: str | None = None, value: str | None = None
    ) -> None:
        if self.dispatcher is not None:
            self.dispatcher.event(kind, deal_id, self.now_ms(), prop, value)
        if not self.config.get("webhook_url") or not self.config.get("webhook_secret"):
            return
        event: dict[str, Any] = {"subscriptionType": kind, "objectId": int(deal_id)}
        if prop is not None:
            event.update(propertyName=prop, propertyValue=value, changeSource="CRM_UI")
        self.spawn(self.send_events([event]))

    def complete_event(self, partial: dict[str, Any]) -> dict[str, Any]:
        kind = partial.get("subscriptionType", "deal.propertyChange")
        event = {
            "eventId": next(self._events),
            "subscriptionId": 1001 if kind == "deal.creation" else 1002,
            "portalId": int(self.config["portal_id"]),
            "appId": int(self.config["app_id"]),
            "occurredAt": self.now_ms(),
            "subscriptionType": kind,
            "attemptNumber": 0,
        }
        if kind == "deal.propertyChange":
            event.update(propertyName="dealstage", changeSource="CRM_UI")
        event.update(partial)
        return event

    async def send_events(
        self, partials: list[dict[str, Any]], url: str | None = None, secret: str | None = None
    ) -> dict[str, Any]:
        url = url or self.config.get("webhook_url")
        secret = secret or self.config.get("webhook_secret")
        if not url or not secret:
            return {"error": "no webhook target configured"}
        events = [self.complete_event(p) for p in partials]

        def signer(attempt: int) -> tuple[bytes, dict[str, str]]:
            for e in events:
                e["attemptNumber"] = attempt
            body = json.dumps(events).encode()
            return body, hubspot_v3_headers(str(secret), str(url), body, int(time.time() * 1000))

        outcome = await deliver(str(url), signer, attempts=int(self.config["webhook_attempts"]))
        outcome["events"] = events
        self.deliveries.append(outcome)
        return outcome
