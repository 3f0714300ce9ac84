"""The HubSpot simulator's in-memory portal: records, associations, property registry, ids and clock."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from aiohttp import web

from simulators.base import SimServer
from simulators.hubspot import seed as seed_data
from simulators.hubspot.money import line_item_amount
from simulators.hubspot.schema import (
    ASSOCIATION_TYPES,
    BUILT_IN,
    DATETIME_PROPERTIES,
    DEFAULT_PROPS,
    INLINE_ASSOCIATIONS,
    OBJECT_TYPES,
    PRIMARY_TYPES,
    READ_ONLY,
    UNLABELED,
    iso_ms,
    type_name,
)
from simulators.hubspot.search import NUMBER_PROPERTIES
from simulators.hubspot.webhooks import Dispatcher
from simulators.ratelimit import Window
from simulators.wire import json_response

__all__ = ["HubSpotStore"]


class HubSpotStore(SimServer):
    """The portal's data and the model operations on it; the handlers are added by the mixins of ``HubSpotSim``."""

    name = "hubspot"

    defaults: dict[str, Any] = {
        "access_token": None,  # expected bearer token; None accepts any non-empty token
        "search_cap": 10_000,
        "requests_per_10s": 100,  # 0 disables the limit
        # CRM search: about 5 requests per second per account, apart from the ten-secondly limit; 0 disables it.
        "search_per_second": 5,
        "time_scale": 1.0,
        "portal_id": 12345678,
        "app_id": 424242,
        "webhook_url": None,
        "webhook_secret": None,
        "webhook_attempts": 3,
        # The CRM GraphQL API needs a paid hub and its own scope: False answers 403 as such a portal does.
        "graphql": True,
        # Ids of new objects start here (None: 10000001 after every reset). HubSpot never reuses an id;
        # tests that share one app and ledger across resets set it so that theirs never meet.
        "first_id": None,
        # Date-based API versions served (``/crm/objects/<version>/...``); 2026-09 adds its differences.
        "api_versions": ["2026-03", "2026-09"],
        # The numeric paths (``/crm/v3``, ``/crm/v4``): "refuse" answers them as HubSpot does once they
        # are unsupported (v4 from 2027-03-30, v1-v3 from September 2027); "serve" answers them as before.
        "numeric_versions": "refuse",
        # Portal validation rules (required / conditionally required properties), enforced on 2026-09 writes.
        "validation_rules": [],
    }

    def __init__(self) -> None:
        # Every (method, path, User-Agent) the simulator was sent, kept across resets: a test session can
        # check afterwards what its clients called (DELETE /_sim/hubspot/paths empties it).
        self.path_log: dict[tuple[str, str, str], int] = {}
        super().__init__()

    def reset_state(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        self.associations: set[tuple[str, str, str, str, int]] = set()
        self.properties: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        self.groups: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        self.deliveries: list[dict[str, Any]] = []
        self._ids = itertools.count(10_000_001)
        self._events = itertools.count(1)
        self._last_ms = 0
        self._window = Window(0, 10.0)
        self._search_window = Window(0, 1.0)
        running: Dispatcher | None = getattr(self, "dispatcher", None)
        if running is not None:
            running.stop(timeout=0)
        self.dispatcher: Dispatcher | None = None
        self.on_config_change()

    def on_config_change(self) -> None:
        first_id = self.config.get("first_id")
        if first_id:
            self._ids = itertools.count(int(first_id))
        scale = float(self.config.get("time_scale") or 1.0)
        self._window = Window(int(self.config.get("requests_per_10s") or 0), 10.0 / scale)
        self._search_window = Window(int(self.config.get("search_per_second") or 0), 1.0 / scale)
        dispatcher: Dispatcher | None = getattr(self, "dispatcher", None)
        if dispatcher is not None:
            dispatcher.time_scale = scale

    def now_ms(self) -> int:
        # Strictly increasing, so that "modified since" and sorting are never ambiguous within the simulator.
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def error_body(
        self, status: int, message: str, category: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        categories = {
            400: "VALIDATION_ERROR",
            401: "INVALID_AUTHENTICATION",
            404: "OBJECT_NOT_FOUND",
            409: "CONFLICT",
            429: "RATE_LIMITS",
            500: "INTERNAL_ERROR",
            502: "INTERNAL_ERROR",
            503: "INTERNAL_ERROR",
            504: "INTERNAL_ERROR",
        }
        return {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category or categories.get(status, "ERROR"),
            **extra,
        }

    def fail(self, status: int, message: str, category: str | None = None, **extra: Any) -> web.Response:
        return json_response(self.error_body(status, message, category, **extra), status)

    def known_properties(self, object_type: str) -> set[str]:
        return BUILT_IN[object_type] | set(self.properties[object_type]) | READ_ONLY

    def property_type(self, object_type: str, name: str) -> str:
        custom = self.properties[object_type].get(name)
        if custom:
            return str(custom["type"])
        if name in NUMBER_PROPERTIES:
            return "number"
        return "datetime" if name in DATETIME_PROPERTIES else "string"

    def _store(self, object_type: str, props: dict[str, Any], ms: int | None = None) -> dict[str, Any]:
        stamp = self.now_ms() if ms is None else ms
        obj_id = str(next(self._ids))
        values = {k: (None if v is None else str(v)) for k, v in props.items()}
        values.update(hs_object_id=obj_id, createdate=iso_ms(stamp), hs_lastmodifieddate=iso_ms(stamp))
        if object_type == "contacts":
            values["lastmodifieddate"] = values["hs_lastmodifieddate"]
        if object_type == "line_items" and "amount" not in props:
            amount = line_item_amount(values)  # a bad quantity or price leaves amount unset
            if amount is not None:
                values["amount"] = amount
        obj = {
            "id": obj_id,
            "properties": values,
            "createdAt": iso_ms(stamp),
            "updatedAt": iso_ms(stamp),
            "archived": False,
        }
        self.objects[object_type][obj_id] = obj
        return obj

    def _touch(self, object_type: str, obj: dict[str, Any], ms: int | None = None) -> None:
        stamp = iso_ms(self.now_ms() if ms is None else ms)
        obj["updatedAt"] = stamp
        obj["properties"]["hs_lastmodifieddate"] = stamp
        if object_type == "contacts":
            obj["properties"]["lastmodifieddate"] = stamp

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int | None = None
    ) -> None:
        forward = type_id or ASSOCIATION_TYPES.get((from_type, to_type), 1)
        if UNLABELED.get((from_type, to_type)) == forward:
            backward = UNLABELED[(to_type, from_type)]
        else:
            backward = ASSOCIATION_TYPES.get((to_type, from_type), forward)
        self.associations.add((from_type, from_id, to_type, to_id, forward))
        self.associations.add((to_type, to_id, from_type, from_id, backward))
        if forward in PRIMARY_TYPES and (from_type, to_type) in UNLABELED:
            # A primary association is also an unlabeled one, as in HubSpot.
            self.associate(from_type, from_id, to_type, to_id, UNLABELED[(from_type, to_type)])

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[tuple[str, int]]:
        found = sorted(
            (a[3], a[4])
            for a in self.associations
            if a[0] == from_type and a[1] == from_id and a[2] == to_type
        )
        return sorted(found, key=lambda x: int(x[0]) if x[0].isdigit() else 0)

    def render(
        self,
        object_type: str,
        obj: dict[str, Any],
        props: list[str] | None,
        associations: list[str] | None = None,
    ) -> dict[str, Any]:
        values = obj["properties"]
        names = list(props) if props else list(DEFAULT_PROPS[object_type])
        names += ["hs_object_id", "createdate", "hs_lastmodifieddate"]
        known = self.known_properties(object_type)
        # Requested properties that exist come back, null when unset; unknown names are left out.
        out_props = {n: values.get(n) for n in dict.fromkeys(names) if n in known}
        out: dict[str, Any] = {
            "id": obj["id"],
            "properties": out_props,
            "createdAt": obj["createdAt"],
            "updatedAt": obj["updatedAt"],
            "archived": obj["archived"],
        }
        if associations:
            assoc: dict[str, Any] = {}
            for to_type in associations:
                found = self.associated(object_type, obj["id"], to_type)
                if found:
                    key = "line items" if to_type == "line_items" else to_type
                    # One entry per (record, type), in pages: the rest is read from the associations endpoint.
                    listing: dict[str, Any] = {"results": [
                        {"id": i, "type": type_name(object_type, to_type, tid)}
                        for i, tid in found[:INLINE_ASSOCIATIONS]
                    ]}
                    if len(found) > INLINE_ASSOCIATIONS:
                        after = str(INLINE_ASSOCIATIONS)
                        listing["paging"] = {"next": {"after": after}}
                    assoc[key] = listing
            if assoc:
                out["associations"] = assoc
        return out

    @staticmethod
    def is_2026_09(request: web.Request) -> bool:
        """2026-09 and later: batch errors inline (200, ``errors``/``numErrors``), portal rules on writes."""
        version = request.match_info.get("version") or ""
        return not version.startswith("v") and version >= "2026-09"

    def snapshot(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "associations": [
                {"from_type": a[0], "from_id": a[1], "to_type": a[2], "to_id": a[3], "type_id": a[4]}
                for a in sorted(self.associations)
            ],
            "properties": self.properties,
            "property_groups": self.groups,
            "webhook_deliveries": self.deliveries,
        }

    def seed(self, name: str, options: dict[str, Any]) -> dict[str, Any]:
        if name != "demo":
            raise ValueError(f"unknown seed {name!r} (known: demo)")
        return seed_data.seed_hubspot(self, app_properties=bool(options.get("app_properties", True)))
