"""HubSpot's CRM GraphQL API (``POST /collector/graphql``), the subset the sync reads: one deal with its associations.

The schema is built from the simulator's own property registry, typed as HubSpot types it: number
properties are numbers, enumerations are ``{label, value}`` objects that must be selected with
subfields, everything else a string. A field the portal does not have is a validation error, as on
HubSpot, so a query that names a missing custom property fails the same way here.

Associations follow HubSpot's naming, ``{type}_collection__{label}``: the deal's primary company
(type 5), all its companies (``deal_to_company_unlabeled``), its contacts and its line items. A
collection takes ``limit`` (default 10) and ``offset``, and answers ``total``, ``items``, ``hasMore`` and
``offset`` (where the next page starts).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    graphql_sync,
)

__all__ = ["ENUMERATIONS", "CrmGraph", "execute"]

# HubSpot-defined enumeration properties the simulator knows (custom ones carry their own type).
ENUMERATIONS: dict[str, frozenset[str]] = {
    "deals": frozenset({"dealstage", "pipeline", "deal_currency_code", "dealtype"}),
    "companies": frozenset({"industry"}),
    "contacts": frozenset(),
    "line_items": frozenset(),
}
SINGULAR = {"deals": "deal", "companies": "company", "contacts": "contact", "line_items": "line_item"}
# (collection field on a deal, object type, association type ids it includes; None = any).
DEAL_ASSOCIATIONS: tuple[tuple[str, str, frozenset[int] | None], ...] = (
    ("company_collection__primary", "companies", frozenset({5})),
    ("company_collection__deal_to_company_unlabeled", "companies", None),
    ("contact_collection__deal_to_contact", "contacts", None),
    ("line_item_collection__primary", "line_items", None),
)
DEFAULT_LIMIT = 10
MAX_LIMIT = 500


class CrmGraph(Protocol):
    """What the GraphQL layer reads from the HubSpot simulator."""

    objects: dict[str, dict[str, dict[str, Any]]]

    def known_properties(self, object_type: str) -> set[str]: ...

    def property_type(self, object_type: str, name: str) -> str: ...

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[tuple[str, int]]: ...


def _number(value: Any) -> Any:
    """HubSpot's ``Number``: an integer when whole, else the exact decimal (kept exact on the wire)."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() and "." not in str(value) else number


NUMBER = GraphQLScalarType("Number", serialize=_number)
LONG = GraphQLScalarType("Long", serialize=lambda v: int(str(v)))
# The simulator keeps no option labels: ``label`` answers the internal value too (the app reads ``value`` only).
ENUMERATION = GraphQLObjectType("Enumeration", {
    "value": GraphQLField(GraphQLString, resolve=lambda v, _info: v),
    "label": GraphQLField(GraphQLString, resolve=lambda v, _info: v),
})


def _prop(name: str) -> Callable[[dict[str, Any], Any], Any]:
    def resolve(obj: dict[str, Any], _info: Any) -> Any:
        value = obj["properties"].get(name)
        return None if value in (None, "") else value
    return resolve


def _build(sim: CrmGraph) -> GraphQLSchema:
    types: dict[str, GraphQLObjectType] = {}

    def property_fields(object_type: str) -> dict[str, GraphQLField]:
        fields: dict[str, GraphQLField] = {}
        for name in sorted(sim.known_properties(object_type)):
            kind = sim.property_type(object_type, name)
            field_type: GraphQLOutputType
            if name == "hs_object_id":
                field_type = LONG
            elif kind == "number":
                field_type = NUMBER
            elif kind == "enumeration" or name in ENUMERATIONS[object_type]:
                field_type = ENUMERATION
            else:
                field_type = GraphQLString
            fields[name] = GraphQLField(field_type, resolve=_prop(name))
        return fields

    for object_type in ("companies", "contacts", "line_items"):
        types[object_type] = GraphQLObjectType(SINGULAR[object_type], property_fields(object_type))

    def collection(object_type: str, type_ids: frozenset[int] | None) -> GraphQLField:
        page_name = f"{SINGULAR[object_type]}_collection"
        page = types.get(page_name) or GraphQLObjectType(page_name, {
            "total": GraphQLField(GraphQLInt, resolve=lambda c, _i: c["total"]),
            "items": GraphQLField(GraphQLList(types[object_type]), resolve=lambda c, _i: c["items"]),
            "hasMore": GraphQLField(GraphQLBoolean, resolve=lambda c, _i: c["hasMore"]),
            "offset": GraphQLField(GraphQLInt, resolve=lambda c, _i: c["offset"]),
        })
        types[page_name] = page

        def resolve(deal: dict[str, Any], _info: Any, limit: int = DEFAULT_LIMIT, offset: int = 0) -> dict[str, Any]:
            ids = dict.fromkeys(i for i, t in sim.associated("deals", deal["id"], object_type)
                                if type_ids is None or t in type_ids)
            records = [o for o in (sim.objects[object_type].get(i) for i in ids) if o and not o["archived"]]
            start = max(0, offset)
            end = start + max(0, min(limit, MAX_LIMIT))
            # ``offset`` answers where the next page starts, ``hasMore`` whether there is one.
            return {"total": len(records), "items": records[start:end], "hasMore": end < len(records),
                    "offset": min(end, len(records))}

        return GraphQLField(page, args={"limit": GraphQLArgument(GraphQLInt), "offset": GraphQLArgument(GraphQLInt)},
                            resolve=resolve)

    associations = GraphQLObjectType("deal_associations", {
        name: collection(object_type, type_ids) for name, object_type, type_ids in DEAL_ASSOCIATIONS
    })
    deal = GraphQLObjectType("deal", {
        **property_fields("deals"),
        "associations": GraphQLField(associations, resolve=lambda d, _i: d),
    })

    def lookup(object_type: str, of: GraphQLObjectType) -> GraphQLField:
        def resolve(_root: Any, _info: Any, uniqueIdentifier: str, uniqueIdentifierValue: str) -> Any:
            if uniqueIdentifier not in ("id", "hs_object_id"):
                return next((o for o in sim.objects[object_type].values()
                             if not o["archived"] and o["properties"].get(uniqueIdentifier) == uniqueIdentifierValue),
                            None)
            obj = sim.objects[object_type].get(str(uniqueIdentifierValue))
            return None if obj is None or obj["archived"] else obj
        return GraphQLField(of, args={"uniqueIdentifier": GraphQLArgument(GraphQLString),
                                      "uniqueIdentifierValue": GraphQLArgument(GraphQLString)}, resolve=resolve)

    crm = GraphQLObjectType("CRM", {
        "deal": lookup("deals", deal),
        **{SINGULAR[t]: lookup(t, types[t]) for t in ("companies", "contacts", "line_items")},
    })
    return GraphQLSchema(GraphQLObjectType("Query", {"CRM": GraphQLField(crm, resolve=lambda *_: {})}))


def execute(sim: CrmGraph, body: Any) -> tuple[int, dict[str, Any]]:
    """Run one GraphQL request body; (HTTP status, response) as HubSpot answers: errors in a 200 ``errors`` list."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return 400, {"status": "error", "message": "the body must be a JSON object with a 'query' string",
                     "category": "VALIDATION_ERROR"}
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return 400, {"status": "error", "message": "'variables' must be an object", "category": "VALIDATION_ERROR"}
    result = graphql_sync(_build(sim), body["query"], variable_values=variables,
                          operation_name=body.get("operationName"))
    out: dict[str, Any] = {"data": result.data}
    if result.errors:
        out["errors"] = [{"message": e.message, "locations": [{"line": loc.line, "column": loc.column}
                                                              for loc in e.locations or []]}
                         for e in result.errors]
    return 200, out
