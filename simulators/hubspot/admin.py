"""The HubSpot simulator's own admin endpoints: paths called, webhook targets and subscriptions, raw writes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.hubspot.rules import HubSpotRules
from simulators.hubspot.webhooks import Dispatcher, Subscription
from simulators.wire import json_response, read_json

__all__ = ["HubSpotAdmin"]


class HubSpotAdmin(HubSpotRules):
    """The ``/_sim/hubspot/...`` and ``/_sim/webhooks...`` handlers (the shared ``/_sim/`` API is ``SimServer``'s)."""

    async def admin_paths(self, request: web.Request) -> web.Response:
        return json_response({"paths": [
            {"method": m, "path": p, "user_agent": a, "count": n} for (m, p, a), n in sorted(self.path_log.items())
        ]})

    async def admin_clear_paths(self, request: web.Request) -> web.Response:
        self.path_log.clear()
        return json_response({"ok": True})

    async def admin_webhooks(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        self.config["webhook_url"] = body.get("url")
        self.config["webhook_secret"] = body.get("secret")
        return json_response({"url": self.config["webhook_url"], "configured": bool(body.get("secret"))})

    async def admin_send_webhooks(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        events = body.get("events") or []
        outcome = await self.send_events(events, body.get("url"), body.get("secret"))
        return json_response(outcome, 400 if "events" not in outcome else 200)

    async def admin_subscribe(self, request: web.Request) -> web.Response:
        """Install the app's webhook subscription (replacing any earlier one, whose work is dropped)."""
        try:
            sub = Subscription.from_json(await read_json(request))
        except ValueError as exc:
            return json_response({"error": "invalid_subscription", "message": str(exc)}, 400)
        if self.dispatcher is not None:
            self.dispatcher.stop(timeout=0)
        scale = float(self.config.get("time_scale") or 1.0)
        self.dispatcher = Dispatcher(sub, int(self.config["portal_id"]), scale).start()
        return json_response(self.subscription_view(), 201)

    def subscription_view(self) -> dict[str, Any]:
        if self.dispatcher is None:
            return {"subscribed": False}
        sub = {k: v for k, v in vars(self.dispatcher.sub).items() if k != "client_secret"}
        return {"subscribed": True, **sub, "time_scale": self.dispatcher.time_scale}

    async def admin_subscription(self, request: web.Request) -> web.Response:
        return json_response(self.subscription_view())

    async def admin_unsubscribe(self, request: web.Request) -> web.Response:
        if self.dispatcher is not None:
            self.dispatcher.stop(timeout=0)
        self.dispatcher = None
        return json_response({"subscribed": False})

    async def admin_deliveries(self, request: web.Request) -> web.Response:
        if self.dispatcher is None:
            return json_response({"deliveries": [], "pending": 0, "queued": 0, "in_flight": 0, "idle": True})
        return json_response(self.dispatcher.status())

    async def admin_flush(self, request: web.Request) -> web.Response:
        if self.dispatcher is None:
            return json_response({"error": "not_subscribed", "message": "no webhook subscription"}, 409)
        return json_response({"flushed": self.dispatcher.flush()})

    async def admin_raw_patch(self, request: web.Request) -> web.Response:
        t = self._type(request)
        obj = self.objects[t].get(request.match_info["id"]) if t else None
        if t is None or obj is None:
            return self.fail(404, "resource not found", "OBJECT_NOT_FOUND")
        body = await read_json(request) or {}
        for k, v in (body.get("properties") or {}).items():
            obj["properties"][k] = None if v is None else str(v)
        self._touch(t, obj)
        return json_response(obj)
