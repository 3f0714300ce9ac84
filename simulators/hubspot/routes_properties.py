"""HubSpot's property endpoints: list, read and create properties and property groups."""

from __future__ import annotations

from aiohttp import web

from simulators.hubspot.rules import HubSpotRules
from simulators.hubspot.schema import BUILT_IN, READ_ONLY, iso_ms
from simulators.wire import json_response, read_json

__all__ = ["PropertyRoutes"]


class PropertyRoutes(HubSpotRules):
    """The handlers of ``/crm/properties/{version}/{type}``."""

    async def list_properties(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(400, "Unknown object type")
        builtin = [
            {
                "name": n,
                "label": n,
                "type": self.property_type(t, n),
                "fieldType": "text",
                "groupName": f"{t[:-1]}information",
                "hubspotDefined": True,
            }
            for n in sorted(BUILT_IN[t] | READ_ONLY)
        ]
        return json_response({"results": builtin + list(self.properties[t].values())})

    async def get_property(self, request: web.Request) -> web.Response:
        t = self._type(request)
        prop = self.properties[t].get(request.match_info["name"]) if t else None
        if prop is None:
            return self.fail(404, f"Unable to find property {request.match_info['name']}", "OBJECT_NOT_FOUND")
        return json_response(prop)

    async def create_property(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(400, "Unknown object type")
        body = await read_json(request) or {}
        missing = [f for f in ("name", "label", "type", "fieldType", "groupName") if not body.get(f)]
        if missing:
            return self.fail(400, f"Missing required fields: {', '.join(missing)}", "VALIDATION_ERROR")
        name = str(body["name"])
        if name in self.properties[t] or name in BUILT_IN[t] or name in READ_ONLY:
            return self.fail(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        if body["groupName"] not in self.groups[t] and not str(body["groupName"]).endswith("information"):
            return self.fail(400, f"Property group {body['groupName']} does not exist.", "VALIDATION_ERROR")
        now = iso_ms(self.now_ms())
        prop = {
            **body,
            "createdAt": now,
            "updatedAt": now,
            "hubspotDefined": False,
            "options": body.get("options", []),
        }
        self.properties[t][name] = prop
        return json_response(prop, 201)

    async def create_group(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(400, "Unknown object type")
        body = await read_json(request) or {}
        name = str(body.get("name", ""))
        if not name:
            return self.fail(400, "Missing required field: name", "VALIDATION_ERROR")
        if name in self.groups[t]:
            return self.fail(409, f"A property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        self.groups[t][name] = {
            "name": name,
            "label": body.get("label", name),
            "displayOrder": body.get("displayOrder", -1),
            "archived": False,
        }
        return json_response(self.groups[t][name], 201)
