"""HubSpot's object endpoints: create, list, read, update, archive, batch read and batch update."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.hubspot.rules import HubSpotRules
from simulators.hubspot.schema import OBJECT_TYPES, type_target
from simulators.wire import json_response, read_json

__all__ = ["ObjectRoutes"]


class ObjectRoutes(HubSpotRules):
    """The handlers of ``/crm/objects/{version}/{type}`` (and the numeric paths they replace)."""

    async def create(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(404, f"Unable to infer object type from: {request.match_info['type']}")
        body = await read_json(request) or {}
        props = body.get("properties", {})
        errors = self.validate_properties(t, props)
        assocs = body.get("associations") or []
        targets: list[tuple[str, str, int]] = []
        for assoc in assocs:
            to_id = str((assoc.get("to") or {}).get("id", ""))
            types = assoc.get("types") or [{}]
            type_id = int(types[0].get("associationTypeId", 0) or 0)
            to_type = type_target(t, type_id)
            if to_type is None or to_id not in self.objects[to_type]:
                errors.append(
                    {
                        "isValid": False,
                        "message": f"association to {to_id} (type {type_id}) is not valid",
                        "error": "INVALID_ASSOCIATION",
                        "name": "associations",
                    }
                )
            else:
                targets.append((to_type, to_id, type_id))
        errors = errors or self.rule_errors(request, t, None, props)
        if errors:
            return self.invalid(errors)
        obj = self._store(t, props)
        for to_type, to_id, type_id in targets:
            self.associate(t, obj["id"], to_type, to_id, type_id)
        if t == "deals":
            self.webhook_event("deal.creation", obj["id"])
        return json_response(self.render(t, obj, list(props) or None), 201)

    async def list_objects(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(404, "Unknown object type")
        limit = min(int(request.query.get("limit", "10")), 100)
        after = int(request.query.get("after", "0") or 0)
        items = sorted(self.objects[t].values(), key=lambda o: int(o["id"]))
        items = [o for o in items if int(o["id"]) > after][: limit + 1]
        out: dict[str, Any] = {
            "results": [self.render(t, o, self._props_param(request)) for o in items[:limit]]
        }
        if len(items) > limit:
            out["paging"] = {"next": {"after": items[limit - 1]["id"]}}
        return json_response(out)

    async def get_object(self, request: web.Request) -> web.Response:
        t = self._type(request)
        obj = self.objects[t].get(request.match_info["id"]) if t else None
        if t is None or obj is None or obj["archived"]:
            return self.fail(404, "resource not found", "OBJECT_NOT_FOUND")
        assoc = [a for a in self._list_param(request, "associations") or [] if a in OBJECT_TYPES] or None
        return json_response(self.render(t, obj, self._props_param(request), assoc))

    async def patch_object(self, request: web.Request) -> web.Response:
        t = self._type(request)
        obj = self.objects[t].get(request.match_info["id"]) if t else None
        if t is None or obj is None or obj["archived"]:
            return self.fail(404, "resource not found", "OBJECT_NOT_FOUND")
        body = await read_json(request) or {}
        props = body.get("properties")
        errors = self.validate_properties(t, props)
        if errors or not isinstance(props, dict):
            return self.invalid(errors)
        errors = self.rule_errors(request, t, obj, props)
        if errors:
            return self.invalid(errors)
        return json_response(self.apply_update(t, obj, props))

    async def delete_object(self, request: web.Request) -> web.Response:
        """HubSpot's delete moves the object to the recycling bin (archived): 204, then 404 to the API."""
        t = self._type(request)
        obj = self.objects[t].get(request.match_info["id"]) if t else None
        if t is None or obj is None or obj["archived"]:
            return self.fail(404, "resource not found", "OBJECT_NOT_FOUND")
        obj["archived"] = True
        self._touch(t, obj)
        if t == "deals" and self.dispatcher is not None:
            self.dispatcher.event("deal.deletion", obj["id"], self.now_ms())
        return web.Response(status=204)

    async def batch_read(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(404, "Unknown object type")
        body = await read_json(request) or {}
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return self.fail(400, "Batch input limit is 100", "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            obj = self.objects[t].get(str(item.get("id")))
            if obj is None or obj["archived"]:  # a deleted record is in the recycling bin: not found, as a read
                missing.append(str(item.get("id")))
            else:
                results.append(self.render(t, obj, body.get("properties")))
        return self.batch_answer(request, results, missing, t)

    async def batch_update(self, request: web.Request) -> web.Response:
        """Many records in one call, all stamped with the same ``hs_lastmodifieddate`` (bulk updates tie).

        All or nothing: an unknown or deleted record (named in ``context.ids``) or a refused value (the
        properties named, not the record) refuses the whole request with a 400, and nothing is written."""
        t = self._type(request)
        if t is None:
            return self.fail(404, "Unknown object type")
        body = await read_json(request) or {}
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or len(inputs) > 100:
            return self.fail(400, "inputs must be a list of at most 100 records", "VALIDATION_ERROR")
        checked: list[tuple[dict[str, Any], dict[str, Any]]] = []
        ids = [str(i.get("id")) if isinstance(i, dict) else "" for i in inputs]
        if len(set(ids)) < len(ids):
            return self.fail(400, f"Duplicate IDs found in batch input: {sorted({i for i in ids if ids.count(i) > 1})}."
                             " IDs must be unique", "VALIDATION_ERROR")
        missing = [i for i in ids if i not in self.objects[t] or self.objects[t][i]["archived"]]
        if missing:
            return self.fail(400, f"Could not update some {t} objects, they may be deleted or not exist: "
                             f"{', '.join(missing)}", "VALIDATION_ERROR", context={"ids": missing})
        for item, obj_id in zip(inputs, ids, strict=True):
            obj = self.objects[t][obj_id]
            props = item.get("properties")
            errors = self.validate_properties(t, props) or self.rule_errors(request, t, obj, props)
            if errors or not isinstance(props, dict):
                return self.invalid(errors)
            checked.append((obj, props))
        stamp = self.now_ms()
        results = [self.apply_update(t, obj, props, stamp) for obj, props in checked]
        return self.batch_answer(request, results, [], t)
