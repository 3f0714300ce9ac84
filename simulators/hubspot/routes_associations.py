"""HubSpot's association endpoints: read (v4 shape, paged), batch read and create."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.hubspot.rules import HubSpotRules
from simulators.hubspot.schema import ASSOCIATION_TYPES, ASSOCIATIONS_PAGE, OBJECT_TYPES, PRIMARY_TYPES, UNLABELED
from simulators.wire import json_response, read_json

__all__ = ["AssociationRoutes"]


class AssociationRoutes(HubSpotRules):
    """The handlers of ``.../{type}/{id}/associations/...`` and ``/crm/associations/.../batch/read``."""

    async def get_associations(self, request: web.Request) -> web.Response:
        t, to = request.match_info["type"], request.match_info["to"]
        if t not in OBJECT_TYPES or to not in OBJECT_TYPES:
            return self.fail(400, "Unknown object type")
        if request.match_info["id"] not in self.objects[t]:
            return self.fail(404, "resource not found", "OBJECT_NOT_FOUND")
        try:
            limit = int(request.query.get("limit", str(ASSOCIATIONS_PAGE)))
            after = int(request.query.get("after", "0") or 0)
        except ValueError:
            return self.fail(400, "limit and after must be integers", "VALIDATION_ERROR")
        if not 0 < limit <= ASSOCIATIONS_PAGE:
            return self.fail(400, f"limit must be between 1 and {ASSOCIATIONS_PAGE}", "VALIDATION_ERROR")
        results = self.association_results(t, request.match_info["id"], to)
        out: dict[str, Any] = {"results": results[after : after + limit]}
        if after + limit < len(results):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return json_response(out)

    def association_results(self, t: str, from_id: str, to: str) -> list[dict[str, Any]]:
        """The v4 shape: one result per associated record, with all its association types."""
        grouped: dict[str, list[int]] = {}
        for to_id, type_id in self.associated(t, from_id, to):
            grouped.setdefault(to_id, []).append(type_id)
        return [
            {
                "toObjectId": int(i),
                "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": tid, "label": "Primary" if tid in PRIMARY_TYPES
                     and (t, to) in UNLABELED else None} for tid in tids
                ],
            }
            for i, tids in grouped.items()
        ]

    async def batch_read_associations(self, request: web.Request) -> web.Response:
        t, to = request.match_info["type"], request.match_info["to"]
        if t not in OBJECT_TYPES or to not in OBJECT_TYPES:
            return self.fail(400, "Unknown object type")
        body = await read_json(request) or {}
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or len(inputs) > 1000:
            return self.fail(400, "inputs must be a list of at most 1000 ids", "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            from_id = str(item.get("id")) if isinstance(item, dict) else ""
            if from_id not in self.objects[t]:
                missing.append(from_id)
                continue
            found = self.association_results(t, from_id, to)
            entry: dict[str, Any] = {"from": {"id": from_id}, "to": found[:ASSOCIATIONS_PAGE]}
            if len(found) > ASSOCIATIONS_PAGE:
                entry["paging"] = {"next": {"after": str(ASSOCIATIONS_PAGE)}}
            results.append(entry)
        return self.batch_answer(request, results, missing, t)

    async def _put_association(self, request: web.Request, type_id: int | None) -> web.Response:
        t, to = request.match_info["type"], request.match_info["to"]
        from_id, to_id = request.match_info["id"], request.match_info["to_id"]
        if t not in OBJECT_TYPES or to not in OBJECT_TYPES:
            return self.fail(400, "Unknown object type")
        if from_id not in self.objects[t] or to_id not in self.objects[to]:
            return self.fail(404, "resource not found", "OBJECT_NOT_FOUND")
        self.associate(t, from_id, to, to_id, type_id)
        labels = [
            {
                "category": "HUBSPOT_DEFINED",
                "typeId": type_id or ASSOCIATION_TYPES.get((t, to), 1),
                "label": None,
            }
        ]
        return json_response(
            {
                "fromObjectTypeId": t,
                "fromObjectId": int(from_id),
                "toObjectTypeId": to,
                "toObjectId": int(to_id),
                "labels": labels,
            },
            201 if type_id else 200,
        )

    async def put_association(self, request: web.Request) -> web.Response:
        body = await read_json(request) or [{}]
        type_id = int((body[0] if isinstance(body, list) and body else {}).get("associationTypeId", 0) or 0)
        return await self._put_association(request, type_id or None)

    async def put_default_association(self, request: web.Request) -> web.Response:
        return await self._put_association(request, None)
