"""One GraphQL read of a deal with its line items, company and contacts (HubSpot's ``/collector/graphql``).

The REST API needs three or four calls for the same data (deal, line items, company, contact). The
GraphQL API is only on paid hubs and needs the ``collector.graphql_query.execute`` scope, so the
adapter treats it as an optimisation with REST as the fallback (see ``HubSpotClient.get_deal_snapshot``).
A deal with more line items than one collection page is read on with ``LINE_ITEMS_QUERY`` from each
page's ``offset`` until ``hasMore`` is false.

GraphQL answers typed values (numbers as JSON numbers, enumerations as ``{value}`` objects); they are
turned back into HubSpot's string properties here, so that one strict parser (``hubspot_mapping``)
reads both APIs.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shared.connectors.hubspot_mapping import (
    CONTACT_PROPERTIES,
    DEAL_PROPERTIES,
    LINE_ITEM_PROPERTIES,
    to_company,
    to_deal,
    to_line_item,
    to_person,
)
from shared.connectors.hubspot_models import HubSpotObject
from shared.domain.errors import BusinessRejection
from shared.domain.models import Company, DealSnapshot

__all__ = [
    "DEAL_QUERY",
    "LINE_ITEMS_QUERY",
    "LINE_ITEM_LIMIT",
    "GraphQLShapeError",
    "LinePage",
    "TooLargeForOneRead",
    "deal_query",
    "deal_snapshot_from",
    "line_items_page",
]

# HubSpot types these as enumerations: selecting them without subfields is a validation error.
ENUMERATIONS = frozenset({"dealstage", "pipeline", "deal_currency_code"})
# Companies have no standard e-mail property (REST ignores an unknown name, GraphQL refuses it): the
# e-mail comes from the deal's first contact.
GRAPHQL_COMPANY_PROPERTIES = ("name", "domain", "address", "city", "country")
LINE_ITEM_LIMIT = 100
CONTACT_LIMIT = 10  # the saga uses the first contact only (for an e-mail)


def _fields(names: tuple[str, ...]) -> str:
    return " ".join(f"{n} {{ value }}" if n in ENUMERATIONS else n for n in ("hs_object_id", *names))


def _collection(name: str, names: tuple[str, ...], limit: int | None = None, offset: str | None = None) -> str:
    args = ", ".join(a for a in (f"limit: {limit}" if limit else "", f"offset: {offset}" if offset else "") if a)
    paging = " hasMore offset" if offset or name == "line_item_collection__primary" else ""
    return f"{name}{f'({args})' if args else ''} {{ total{paging} items {{ {_fields(names)} }} }}"


DEAL_QUERY = "\n".join([
    "query DealForInvoice($id: String!) {",
    "  CRM {",
    '    deal(uniqueIdentifier: "hs_object_id", uniqueIdentifierValue: $id) {',
    f"      {_fields(DEAL_PROPERTIES)}",
    "      associations {",
    f"        {_collection('company_collection__primary', GRAPHQL_COMPANY_PROPERTIES)}",
    f"        {_collection('company_collection__deal_to_company_unlabeled', GRAPHQL_COMPANY_PROPERTIES)}",
    f"        {_collection('contact_collection__deal_to_contact', CONTACT_PROPERTIES, CONTACT_LIMIT)}",
    f"        {_collection('line_item_collection__primary', LINE_ITEM_PROPERTIES, LINE_ITEM_LIMIT)}",
    "      }",
    "    }",
    "  }",
    "}",
])


def deal_query(extra_properties: tuple[str, ...] = ()) -> str:
    """``DEAL_QUERY`` with the further deal properties the invoice mapping needs (its tracking rules)."""
    if not extra_properties:
        return DEAL_QUERY
    return DEAL_QUERY.replace(_fields(DEAL_PROPERTIES), _fields((*DEAL_PROPERTIES, *extra_properties)), 1)


LINE_ITEMS_QUERY = "\n".join([
    "query DealLineItems($id: String!, $offset: Int!) {",
    "  CRM {",
    '    deal(uniqueIdentifier: "hs_object_id", uniqueIdentifierValue: $id) {',
    "      associations {",
    f"        {_collection('line_item_collection__primary', LINE_ITEM_PROPERTIES, LINE_ITEM_LIMIT, '$offset')}",
    "      }",
    "    }",
    "  }",
    "}",
])


class GraphQLShapeError(ValueError):
    """The answer is not shaped as the query asked: the portal's schema differs; use REST instead."""


class TooLargeForOneRead(ValueError):
    """The deal has more line items than one read returns: read this deal over REST (paged batches)."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):  # an enumeration
        return _text(value.get("value"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float | str):
        return str(value)
    raise GraphQLShapeError(f"unexpected value {value!r}")


def _object(raw: Any, names: tuple[str, ...]) -> HubSpotObject:
    if not isinstance(raw, dict) or raw.get("hs_object_id") is None:
        raise GraphQLShapeError("a record without hs_object_id")
    return HubSpotObject(id=str(raw["hs_object_id"]), properties={n: _text(raw.get(n)) for n in names})


def _items(associations: dict[str, Any], name: str) -> tuple[list[Any], int]:
    collection = associations.get(name)
    if collection is None:
        return [], 0
    if not isinstance(collection, dict) or not isinstance(collection.get("items"), list):
        raise GraphQLShapeError(f"association {name} is not a collection")
    total = collection.get("total")
    items = collection["items"]
    return items, total if isinstance(total, int) else len(items)


class LinePage:
    """One page of a deal's line items: the raw records, and where the next page starts (None: the last)."""

    def __init__(self, items: list[Any], next_offset: int | None) -> None:
        self.items = items
        self.next_offset = next_offset


def _line_page(assoc: dict[str, Any]) -> tuple[LinePage, int]:
    lines, total = _items(assoc, "line_item_collection__primary")
    collection = assoc.get("line_item_collection__primary") or {}
    more, offset = collection.get("hasMore"), collection.get("offset")
    if more is True and isinstance(offset, int) and not isinstance(offset, bool):
        return LinePage(lines, offset), total
    return LinePage(lines, None), total


def line_items_page(data: Any) -> LinePage:
    """A ``LINE_ITEMS_QUERY`` answer's page; ``GraphQLShapeError`` when it is not shaped as asked."""
    crm = data.get("CRM") if isinstance(data, dict) else None
    raw = crm.get("deal") if isinstance(crm, dict) else None
    if not isinstance(raw, dict) or not isinstance(raw.get("associations"), dict):
        raise GraphQLShapeError("no deal associations in the line item page")
    return _line_page(raw["associations"])[0]


def deal_snapshot_from(data: Any, next_lines: Callable[[int], LinePage] | None = None,
                       extra_properties: tuple[str, ...] = ()) -> DealSnapshot | None:
    """The snapshot from the answer's ``data``; None when the deal does not exist.

    A deal with more line items than the first page is read on with ``next_lines(offset)`` to the end.
    Raises ``GraphQLShapeError`` when the answer cannot be read as asked, ``TooLargeForOneRead`` when
    there are more line items and no ``next_lines`` (or paging stops short of the total), and
    BusinessRejection (from the mapping) when a property holds bad data, exactly as the REST reads would.
    """
    crm = data.get("CRM") if isinstance(data, dict) else None
    if not isinstance(crm, dict):
        raise GraphQLShapeError("no CRM in the answer")
    raw = crm.get("deal")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("associations"), dict):
        raise GraphQLShapeError("the deal has no associations")
    assoc = raw["associations"]
    primary, _ = _items(assoc, "company_collection__primary")
    others, _ = _items(assoc, "company_collection__deal_to_company_unlabeled")
    people, _ = _items(assoc, "contact_collection__deal_to_contact")
    page, line_total = _line_page(assoc)
    lines = list(page.items)
    while page.next_offset is not None and len(lines) < line_total:
        if next_lines is None:
            break
        offset = page.next_offset
        page = next_lines(offset)
        if not page.items or (page.next_offset is not None and page.next_offset <= offset):
            raise TooLargeForOneRead(f"line item paging stopped at {len(lines)} of {line_total}")
        lines += page.items
    if line_total > len(lines):
        raise TooLargeForOneRead(f"{line_total} line items, {len(lines)} read")
    companies = {c.id: c for c in (_object(c, GRAPHQL_COMPANY_PROPERTIES) for c in [*primary, *others])}
    contacts = [_object(p, CONTACT_PROPERTIES) for p in people]
    items = [_object(i, LINE_ITEM_PROPERTIES) for i in lines]
    # The REST shape of the same deal, so that to_deal reads both APIs alike; the primary company first.
    fields = _object(raw, (*DEAL_PROPERTIES, *extra_properties)).model_dump()
    deal = HubSpotObject.model_validate({**fields, "associations": {
        "companies": {"results": [{"id": i} for i in companies]},
        "contacts": {"results": [{"id": c.id} for c in contacts]},
        "line items": {"results": [{"id": i.id} for i in items]},
    }})
    return DealSnapshot(
        deal=to_deal(deal, extra_properties),
        line_items=tuple(to_line_item(i) for i in items),
        company=_company(next(iter(companies.values()))) if companies else None,
        first_contact=to_person(contacts[0]) if contacts else None,
    )


def _company(obj: HubSpotObject) -> Company | None:
    # Only a new Xero contact needs the company's data: a company without a name must not stop a deal whose
    # contact exists already. Left out here, the customer step reads it and refuses it only if it needs it.
    try:
        return to_company(obj)
    except BusinessRejection:
        return None
