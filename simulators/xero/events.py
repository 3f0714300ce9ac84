"""The Xero simulator's webhooks: events as Xero shapes them, sent signed with the webhook key."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from simulators.webhook_sender import deliver, xero_headers
from simulators.xero.schema import NAMESPACE
from simulators.xero.state import XeroStore

__all__ = ["XeroEvents"]


class XeroEvents(XeroStore):
    """INVOICE and CONTACT events, batched with sequence numbers, to the ``POST /_sim/webhooks`` target."""

    async def _announce(self, inv: dict[str, Any], request: web.Request, wait: bool) -> dict[str, Any] | None:
        """Send the invoice's UPDATE event where a webhook is configured (at once when ``wait``)."""
        if not (self.config.get("webhook_url") and self.config.get("webhook_key")):
            return None
        event = self.event("INVOICE", "UPDATE", inv["InvoiceID"], request)
        if wait:
            return await self.send_events([event])
        self.spawn(self.send_events([event]))
        return None

    def announce_created(self, invoice_ids: list[str], request: web.Request) -> None:
        """Send one delivery of INVOICE CREATE events for invoices just made (in the background)."""
        if invoice_ids and self.config.get("webhook_url") and self.config.get("webhook_key"):
            self.spawn(self.send_events([self.event("INVOICE", "CREATE", i, request) for i in invoice_ids]))

    def event(
        self,
        category: str,
        kind: str,
        resource_id: str,
        request: web.Request | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        path = "Invoices" if category == "INVOICE" else "Contacts"
        tenants = self.config.get("tenant_ids") or []
        return {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/{path}/{resource_id}",
            "resourceId": resource_id,
            "eventDateUtc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            "eventType": kind,
            "eventCategory": category,
            "tenantId": tenant or (tenants[0] if tenants else str(uuid.uuid5(NAMESPACE, "tenant"))),
            "tenantType": "ORGANISATION",
        }

    async def send_events(
        self,
        events: list[dict[str, Any]],
        url: str | None = None,
        key: str | None = None,
        bad_signature: bool = False,
    ) -> dict[str, Any]:
        url = url or self.config.get("webhook_url")
        key = key or self.config.get("webhook_key")
        if not url or not key:
            return {"error": "no webhook target configured"}
        first = next(self._event_seq) if events else 0
        last = first + max(0, len(events) - 1)
        for _ in events[1:]:
            next(self._event_seq)
        payload = {
            "events": events,
            "firstEventSequence": first,
            "lastEventSequence": last,
            "entropy": secrets.token_hex(10).upper(),
        }
        body = json.dumps(payload).encode()
        headers = xero_headers(str(key) + ("x" if bad_signature else ""), body)
        attempts = 1 if bad_signature or not events else 3
        outcome = await deliver(str(url), lambda attempt: (body, headers), attempts=attempts)
        outcome["payload"] = payload
        self.deliveries.append(outcome)
        return outcome
