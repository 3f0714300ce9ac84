"""The HubSpot CRM simulator: objects, associations (v3 on create, v4), search, properties, webhooks.

Real paths, status codes and error bodies (``{status, message, correlationId, category}``). Webhooks as
HubSpot delivers them (batched, at least once, out of order, retried): ``POST /_sim/webhooks/subscription``
(see ``simulators.hubspot_webhooks``), each POST then listed by ``GET /_sim/webhooks/deliveries``. The simpler
target of ``POST /_sim/webhooks`` ``{"url": ..., "secret": ...}`` gets each deal creation and dealstage change
in a signed POST of its own; ``POST /_sim/webhooks/send`` sends given events at once. Searches are limited
to ``search_per_second`` per account (HubSpot: about 5), with HubSpot's 429.
``PATCH /_sim/hubspot/objects/{type}/{id}`` writes raw property values
without validation (bad data as an import would leave it). ``DELETE /crm/v3/objects/{type}/{id}`` archives
the object, as HubSpot's delete does: it is 404 to reads and writes from then on.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from simulators import seed as seed_data
from simulators.base import SimServer
from simulators.hubspot_graphql import SINGULAR
from simulators.hubspot_graphql import execute as execute_graphql
from simulators.hubspot_money import AMOUNT_INPUTS, line_item_amount
from simulators.hubspot_search import NUMBER_PROPERTIES, SearchError, matches, sort_key, to_ms
from simulators.hubspot_webhooks import Dispatcher, Subscription
from simulators.ratelimit import Window
from simulators.webhook_sender import deliver, hubspot_v3_headers
from simulators.wire import json_response, read_json

__all__ = ["ASSOCIATION_TYPES", "HubSpotSim"]

OBJECT_TYPES = ("companies", "contacts", "deals", "line_items")
# HubSpot-defined association type ids (from -> to).
ASSOCIATION_TYPES: dict[tuple[str, str], int] = {
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "line_items"): 19,
    ("line_items", "deals"): 20,
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
}
# A deal's other companies (a reseller, a subsidiary): HubSpot's unlabeled deal-company type. Type 5 above
# is the deal's *primary* company; HubSpot keeps an unlabeled association beside every primary one.
UNLABELED: dict[tuple[str, str], int] = {("deals", "companies"): 341, ("companies", "deals"): 342}
PRIMARY_TYPES = frozenset({5, 6})
# Inline associations on a record read come in pages of this many (the rest: the associations endpoint).
INLINE_ASSOCIATIONS = 100
ASSOCIATIONS_PAGE = 500  # the most one associations read returns


def type_name(from_type: str, to_type: str, type_id: int) -> str:
    """The v3 inline name of an association type: ``deal_to_company`` (primary) or ``..._unlabeled``."""
    base = f"{SINGULAR[from_type]}_to_{SINGULAR[to_type]}"
    return f"{base}_unlabeled" if UNLABELED.get((from_type, to_type)) == type_id else base


def type_target(from_type: str, type_id: int) -> str | None:
    """The object type an association type id leads to from ``from_type`` (None: not valid from there)."""
    for (a, b), tid in (*ASSOCIATION_TYPES.items(), *UNLABELED.items()):
        if a == from_type and tid == type_id:
            return b
    return None
DATETIME_PROPERTIES = {"closedate"}
READ_ONLY = {"hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate"}
BUILT_IN: dict[str, set[str]] = {
    "deals": {
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "deal_currency_code",
        "description",
        "dealtype",
        "hubspot_owner_id",
    },
    "companies": {"name", "domain", "address", "city", "country", "zip", "state", "phone", "industry"},
    "contacts": {"firstname", "lastname", "email", "phone", "company", "jobtitle"},
    "line_items": {
        "name",
        "quantity",
        "price",
        "amount",
        "hs_sku",
        "description",
        "hs_discount_percentage",
        "discount",
        "hs_line_item_currency_code",
        "hs_product_id",
        "hs_tax_rate_group_id",
    },
}
DEFAULT_PROPS: dict[str, tuple[str, ...]] = {
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
    "companies": ("name", "domain"),
    "contacts": ("firstname", "lastname", "email"),
    "line_items": ("name", "quantity", "price", "amount"),
}
STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class HubSpotSim(SimServer):
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

    # --- helpers ---

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

    @staticmethod
    def type_error(kind: str, value: Any) -> tuple[str, str] | None:
        """(error code, message) when ``value`` cannot be stored in a property of type ``kind``, as HubSpot says."""
        if value in (None, ""):
            return None  # clearing a property is always allowed
        text = str(value).strip()
        if kind == "date":
            if text.isdigit():
                ok = int(text) % 86_400_000 == 0  # epoch ms at midnight UTC
            else:
                try:
                    date.fromisoformat(text)
                    ok = len(text) == 10
                except ValueError:
                    ok = False
            return None if ok else ("INVALID_DATE", f'"{text}" is not a valid date: use YYYY-MM-DD or '
                                    "midnight UTC in epoch milliseconds")
        if kind == "datetime":
            return None if to_ms(text) is not None else (
                "INVALID_DATETIME", f'"{text}" is not a valid date-time: use ISO 8601 or epoch milliseconds')
        if kind == "bool" and text.lower() not in ("true", "false"):
            return "INVALID_BOOLEAN", f'"{text}" is not a valid boolean: use true or false'
        return None

    def validate_properties(self, object_type: str, props: Any) -> list[dict[str, Any]]:
        if not isinstance(props, dict):
            return [
                {
                    "isValid": False,
                    "message": "properties must be an object",
                    "error": "INVALID_INPUT",
                    "name": "properties",
                }
            ]
        errors = []
        known = self.known_properties(object_type)
        for name, value in props.items():
            if name not in known:
                errors.append(
                    {
                        "isValid": False,
                        "message": f'Property "{name}" does not exist',
                        "error": "PROPERTY_DOESNT_EXIST",
                        "name": name,
                    }
                )
            elif name in READ_ONLY:
                errors.append(
                    {
                        "isValid": False,
                        "message": f"{name} is a read only property; its value cannot be set.",
                        "error": "READ_ONLY_VALUE",
                        "name": name,
                    }
                )
            elif value is not None and not isinstance(value, (str, int, Decimal, float, bool)):
                errors.append(
                    {
                        "isValid": False,
                        "message": f"{name} must be a string",
                        "error": "INVALID_INPUT",
                        "name": name,
                    }
                )
            elif (why := self.type_error(self.property_type(object_type, name), value)) is not None:
                errors.append({"isValid": False, "message": why[1], "error": why[0], "name": name})
            elif self.property_type(object_type, name) == "number" and value not in (None, ""):
                try:
                    Decimal(str(value))
                except InvalidOperation:
                    errors.append(
                        {
                            "isValid": False,
                            "message": f"{value} was not a valid number.",
                            "error": "INVALID_DECIMAL",
                            "name": name,
                        }
                    )
        return errors

    def invalid(self, errors: list[dict[str, Any]]) -> web.Response:
        return self.fail(
            400,
            f"Property values were not valid: {json.dumps(errors)}",
            "VALIDATION_ERROR",
            errors=[{"message": e["message"], "code": e["error"], "context": {"propertyName": [e["name"]]}}
                    for e in errors],
        )

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

    # --- auth and limits ---

    def check_version(self, request: web.Request) -> web.Response | None:
        """A refusal for an API version this portal does not serve, else None."""
        version = request.match_info.get("version")
        if version is None:
            return None
        served = [str(v) for v in self.config.get("api_versions") or []]
        if version.startswith("v"):
            if self.config.get("numeric_versions") == "serve":
                return None
            # HubSpot has not published the answer of a sunset path; a 410 with its usual error body
            # is what a client must treat as final (it is never retried).
            return self.fail(
                410,
                f"The /crm/{version}/ API is no longer supported. Use the date-based paths, "
                f"for example /crm/objects/{served[-1] if served else '2026-09'}/deals.",
                "API_VERSION_UNSUPPORTED",
            )
        if version not in served:
            return self.fail(404, f"Unknown API version {version} (served: {', '.join(served)})", "OBJECT_NOT_FOUND")
        return None

    @staticmethod
    def is_2026_09(request: web.Request) -> bool:
        """2026-09 and later: batch errors inline (200, ``errors``/``numErrors``), portal rules on writes."""
        version = request.match_info.get("version") or ""
        return not version.startswith("v") and version >= "2026-09"

    async def admin_paths(self, request: web.Request) -> web.Response:
        return json_response({"paths": [
            {"method": m, "path": p, "user_agent": a, "count": n} for (m, p, a), n in sorted(self.path_log.items())
        ]})

    async def admin_clear_paths(self, request: web.Request) -> web.Response:
        self.path_log.clear()
        return json_response({"ok": True})

    async def admit(self, request: web.Request) -> tuple[web.StreamResponse | None, Any]:
        key = (request.method, request.path, request.headers.get("User-Agent", ""))
        self.path_log[key] = self.path_log.get(key, 0) + 1
        refused = self.check_version(request)
        if refused is not None:
            return refused, lambda: None
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        expected = self.config.get("access_token")
        if not token or (expected is not None and token != expected):
            return self.fail(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at https://developers.hubspot.com/"
                "docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            ), lambda: None
        if request.method == "POST" and request.path.endswith("/search") and "version" in request.match_info:
            return self.admit_search(), lambda: None
        if self._window.limit and self._window.wait() > 0:
            limit = self._window.limit
            response = json_response(
                {
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "TEN_SECONDLY_ROLLING",
                    "category": "RATE_LIMITS",
                },
                429,
                {
                    "X-HubSpot-RateLimit-Max": str(limit),
                    "X-HubSpot-RateLimit-Remaining": "0",
                    "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self._window.seconds * 1000)),
                },
            )
            return response, lambda: None
        self._window.record()
        return None, lambda: None

    def admit_search(self) -> web.Response | None:
        """CRM search has its own limit, per account and apart from the ten-secondly one (HubSpot's
        spec exempts search from it): a 429 as HubSpot answers it, without Retry-After."""
        window = self._search_window
        if window.limit and window.wait() > 0:
            # HubSpot's recorded search 429s carry this message and category; that the body also names the
            # policy as SECONDLY is what secondary sources report.
            return json_response(
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "SECONDLY",
                    "category": "RATE_LIMITS",
                },
                429,
            )
        window.record()
        return None

    # --- routes ---

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/collector/graphql", self.graphql)
        # Date-based paths (``/crm/objects/2026-09/deals``), and the numeric ones they replace
        # (``/crm/v3/objects/deals``), on the same handlers: ``check_version`` decides what is served.
        for objects, properties, assoc_v4 in (
            ("/crm/objects/{version:20[0-9]{2}-[0-9]{2}}", "/crm/properties/{version:20[0-9]{2}-[0-9]{2}}",
             "/crm/objects/{version:20[0-9]{2}-[0-9]{2}}"),
            ("/crm/{version:v3}/objects", "/crm/{version:v3}/properties", "/crm/{version:v4}/objects"),
        ):
            r.add_post(objects + "/{type}/search", self.search)
            r.add_post(objects + "/{type}/batch/read", self.batch_read)
            r.add_post(objects + "/{type}/batch/update", self.batch_update)
            r.add_post(objects + "/{type}", self.create)
            r.add_get(objects + "/{type}", self.list_objects)
            r.add_get(objects + "/{type}/{id}", self.get_object)
            r.add_patch(objects + "/{type}/{id}", self.patch_object)
            r.add_delete(objects + "/{type}/{id}", self.delete_object)
            r.add_get(assoc_v4 + "/{type}/{id}/associations/{to}", self.get_associations)
            r.add_put(assoc_v4 + "/{type}/{id}/associations/default/{to}/{to_id}", self.put_default_association)
            r.add_put(assoc_v4 + "/{type}/{id}/associations/{to}/{to_id}", self.put_association)
            r.add_get(properties + "/{type}", self.list_properties)
            r.add_post(properties + "/{type}", self.create_property)
            r.add_post(properties + "/{type}/groups", self.create_group)
            r.add_get(properties + "/{type}/{name}", self.get_property)
        r.add_post("/crm/associations/{version:20[0-9]{2}-[0-9]{2}}/{type}/{to}/batch/read",
                   self.batch_read_associations)
        r.add_post("/crm/{version:v4}/associations/{type}/{to}/batch/read", self.batch_read_associations)
        r.add_get("/_sim/hubspot/paths", self.admin_paths)
        r.add_delete("/_sim/hubspot/paths", self.admin_clear_paths)
        r.add_post("/_sim/webhooks", self.admin_webhooks)
        r.add_post("/_sim/webhooks/send", self.admin_send_webhooks)
        r.add_post("/_sim/webhooks/subscription", self.admin_subscribe)
        r.add_get("/_sim/webhooks/subscription", self.admin_subscription)
        r.add_delete("/_sim/webhooks/subscription", self.admin_unsubscribe)
        r.add_get("/_sim/webhooks/deliveries", self.admin_deliveries)
        r.add_post("/_sim/webhooks/flush", self.admin_flush)
        r.add_patch("/_sim/hubspot/objects/{type}/{id}", self.admin_raw_patch)

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

    def rule_errors(
        self, request: web.Request, t: str, obj: dict[str, Any] | None, props: Any
    ) -> list[dict[str, Any]]:
        """The portal's validation rules a write breaks (2026-09 enforces them on every CRM write).

        ``validation_rules``: ``[{"objectType": "deals", "property": "dealtype", "when": {"invoice_sync_status":
        "synced"}}]``: ``property`` must have a value on the record as the write leaves it (only when the
        record then matches ``when``, for a conditionally required property).
        """
        if not self.is_2026_09(request) or not isinstance(props, dict):
            return []
        after = {**(obj["properties"] if obj else {}), **{k: None if v is None else str(v) for k, v in props.items()}}
        errors = []
        for rule in self.config.get("validation_rules") or []:
            if rule.get("objectType", "deals") != t:
                continue
            when = rule.get("when") or {}
            if any(after.get(k) != v for k, v in when.items()):
                continue
            name = str(rule.get("property"))
            if after.get(name) in (None, ""):
                condition = " when " + ", ".join(f"{k} is {v!r}" for k, v in when.items()) if when else ""
                errors.append({
                    "isValid": False,
                    "message": f"{name} is required by a validation rule of this portal{condition}",
                    "error": "REQUIRED_PROPERTY",
                    "name": name,
                })
        return errors

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

    async def graphql(self, request: web.Request) -> web.Response:
        if not self.config.get("graphql"):
            return self.fail(
                403,
                "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes.",
                "MISSING_SCOPES",
                errors=[{"message": "One or more of the following scopes are required.",
                         "context": {"requiredGranularScopes": ["collector.graphql_query.execute"]}}],
            )
        status, body = execute_graphql(self, await read_json(request))
        return json_response(body, status)

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
            if obj is None:
                missing.append(str(item.get("id")))
            else:
                results.append(self.render(t, obj, body.get("properties")))
        return self.batch_answer(request, results, missing, t)

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

    async def batch_update(self, request: web.Request) -> web.Response:
        """Many records in one call, all stamped with the same ``hs_lastmodifieddate`` (bulk updates tie)."""
        t = self._type(request)
        if t is None:
            return self.fail(404, "Unknown object type")
        body = await read_json(request) or {}
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or len(inputs) > 100:
            return self.fail(400, "inputs must be a list of at most 100 records", "VALIDATION_ERROR")
        checked: list[tuple[dict[str, Any], dict[str, Any]]] = []
        missing: list[str] = []
        for item in inputs:
            obj = self.objects[t].get(str(item.get("id"))) if isinstance(item, dict) else None
            if obj is None:
                missing.append(str(item.get("id")) if isinstance(item, dict) else "")
                continue
            props = item.get("properties")
            errors = self.validate_properties(t, props) or self.rule_errors(request, t, obj, props)
            if errors or not isinstance(props, dict):
                return self.invalid(errors)
            checked.append((obj, props))
        stamp = self.now_ms()
        results = [self.apply_update(t, obj, props, stamp) for obj, props in checked]
        return self.batch_answer(request, results, missing, t)

    async def search(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(404, "Unknown object type")
        body = await read_json(request) or {}
        limit = int(body.get("limit", 10))
        if not 0 < limit <= 200:
            return self.fail(400, "limit must be between 1 and 200", "VALIDATION_ERROR")
        cap = int(self.config["search_cap"])
        after = int(body.get("after") or 0)
        if after >= cap:
            return self.fail(
                400,
                f"The search API is limited to {cap} results; use filters to narrow it down.",
                "VALIDATION_ERROR",
            )
        try:
            found = [
                o
                for o in self.objects[t].values()
                if not o["archived"] and matches(body.get("filterGroups") or [], o["properties"])
            ]
        except SearchError as exc:
            return self.fail(400, str(exc), "VALIDATION_ERROR")
        found.sort(key=lambda o: int(o["id"]))
        for sort in reversed(body.get("sorts") or []):
            if isinstance(sort, str):
                prop, desc = sort.lstrip("-"), sort.startswith("-")
            else:
                prop, desc = sort.get("propertyName", "hs_object_id"), sort.get("direction") == "DESCENDING"

            def by(o: dict[str, Any], p: str = str(prop)) -> tuple[int, Any]:
                return sort_key(p, o["properties"])

            found.sort(key=by, reverse=desc)
        end = min(after + limit, cap)
        page = found[after:end]
        out: dict[str, Any] = {
            "total": len(found),
            "results": [self.render(t, o, body.get("properties") or None) for o in page],
        }
        if end < len(found) and end < cap:
            out["paging"] = {"next": {"after": str(end)}}
        return json_response(out)

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

    # --- webhooks ---

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

    # --- state ---

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
