"""What the HubSpot handlers share: a record update with its events, request parameters, batch answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.hubspot.events import HubSpotEvents
from simulators.hubspot.money import AMOUNT_INPUTS, line_item_amount
from simulators.hubspot.schema import OBJECT_TYPES, iso_ms
from simulators.hubspot.validation import HubSpotValidation
from simulators.wire import json_response

__all__ = ["HubSpotRules"]


class HubSpotRules(HubSpotValidation, HubSpotEvents):
    """The write rule (an update stamps the record and makes the events it causes) and the helpers of every route."""

    def _type(self, request: web.Request) -> str | None:
        t = request.match_info["type"]
        return t if t in OBJECT_TYPES else None

    @staticmethod
    def _list_param(request: web.Request, name: str) -> list[str] | None:
        """A list query parameter as HubSpot reads it: repeated (``a=x&a=y``), comma-separated, or both."""
        values = [p for raw in request.query.getall(name, []) for p in raw.split(",") if p]
        return values or None

    def _props_param(self, request: web.Request) -> list[str] | None:
        return self._list_param(request, "properties")

    def apply_update(
        self, t: str, obj: dict[str, Any], props: dict[str, Any], stamp: int | None = None
    ) -> dict[str, Any]:
        old_stage = obj["properties"].get("dealstage")
        before = {k: obj["properties"].get(k) for k in props}
        for k, v in props.items():
            obj["properties"][k] = None if v is None else str(v)
        if t == "line_items" and "amount" not in props and AMOUNT_INPUTS & set(props):
            obj["properties"]["amount"] = line_item_amount(obj["properties"])
        self._touch(t, obj, stamp)
        if t == "deals" and "dealstage" in props and obj["properties"].get("dealstage") != old_stage:
            self.webhook_event("deal.propertyChange", obj["id"], "dealstage", obj["properties"]["dealstage"])
        if t == "deals" and self.dispatcher is not None:
            # Other property changes go to subscriptions only (e.g. amount); the subscription filters them.
            for k in props:
                if k != "dealstage" and obj["properties"].get(k) != before[k]:
                    self.dispatcher.event("deal.propertyChange", obj["id"], self.now_ms(), k, obj["properties"][k])
        return self.render(t, obj, list(props) or None)

    def batch_answer(
        self, request: web.Request, results: list[dict[str, Any]], missing: list[str], t: str,
        errors: list[dict[str, Any]] | None = None,
    ) -> web.Response:
        """A batch's answer: before 2026-09 a 207 when some inputs failed; from 2026-09 a 200 with
        ``errors`` and ``numErrors`` beside the results."""
        now = iso_ms(self.now_ms())
        out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        errors = list(errors or [])
        if missing:
            errors.append({
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {t} objects, they may be deleted or not exist.",
                "context": {"ids": missing},
            })
        if self.is_2026_09(request):
            out["numErrors"] = len(errors)
            out["errors"] = errors
            return json_response(out)
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
            return json_response(out, 207)
        return json_response(out)
