"""HubSpot CRM search semantics: filter groups, operators, sorts, typed comparisons."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["DATE_PROPERTIES", "NUMBER_PROPERTIES", "SearchError", "matches", "sort_key", "to_ms"]

DATE_PROPERTIES = {"createdate", "hs_lastmodifieddate", "lastmodifieddate", "closedate", "invoice_paid_date"}
NUMBER_PROPERTIES = {
    "amount",
    "quantity",
    "price",
    "hs_discount_percentage",
    "discount",
    "payment_terms_days",
    "hs_object_id",
}


class SearchError(ValueError):
    """A malformed search (HubSpot answers 400 VALIDATION_ERROR)."""


def to_ms(value: str) -> int | None:
    """A HubSpot date value (epoch ms or ISO 8601) as epoch milliseconds."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _typed(prop: str, value: str | None) -> Any:
    if value is None or value == "":
        return None
    if prop in DATE_PROPERTIES:
        return to_ms(value)
    if prop in NUMBER_PROPERTIES:
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return value.lower()


def _check(flt: dict[str, Any], props: dict[str, str | None]) -> bool:
    prop = flt.get("propertyName")
    op = flt.get("operator")
    if not isinstance(prop, str) or not isinstance(op, str):
        raise SearchError("each filter needs propertyName and operator")
    have = _typed(prop, props.get(prop))
    if op == "HAS_PROPERTY":
        return have is not None
    if op == "NOT_HAS_PROPERTY":
        return have is None
    if op in ("IN", "NOT_IN"):
        values = flt.get("values")
        if not isinstance(values, list):
            raise SearchError(f"operator {op} needs values")
        inside = have is not None and have in {_typed(prop, str(v)) for v in values}
        return inside if op == "IN" else not inside
    if "value" not in flt:
        raise SearchError(f"operator {op} needs a value")
    want = _typed(prop, str(flt["value"]))
    if op == "EQ":
        return have is not None and bool(have == want)
    if op == "NEQ":
        return bool(have != want)
    if have is None or want is None:
        return False
    try:
        if op == "GT":
            return bool(have > want)
        if op == "GTE":
            return bool(have >= want)
        if op == "LT":
            return bool(have < want)
        if op == "LTE":
            return bool(have <= want)
        if op == "BETWEEN":
            high = _typed(prop, str(flt.get("highValue")))
            return bool(want <= have <= high)
    except TypeError:
        return False
    raise SearchError(f"unknown operator {op}")


def matches(filter_groups: list[dict[str, Any]], props: dict[str, str | None]) -> bool:
    """OR across groups, AND within a group; no groups means everything."""
    if not filter_groups:
        return True
    return any(all(_check(f, props) for f in group.get("filters", [])) for group in filter_groups)


def sort_key(prop: str, props: dict[str, str | None]) -> tuple[int, Any]:
    value = _typed(prop, props.get(prop))
    # Missing values sort last, as in HubSpot.
    return (1, 0) if value is None else (0, value)
