"""HubSpot's CRM schema as the simulator knows it: object types, association types, built-in properties."""

from __future__ import annotations

from datetime import UTC, datetime

from simulators.hubspot.graphql_api import SINGULAR

__all__ = ["ASSOCIATION_TYPES", "OBJECT_TYPES", "UNLABELED", "iso_ms", "type_name", "type_target"]

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
