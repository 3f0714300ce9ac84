"""A HubSpot line item's ``amount`` as HubSpot derives it when the writer does not set it.

amount = quantity x (price - discount), ``discount`` being an amount per unit, or
quantity x price x (100 - hs_discount_percentage) / 100. The simulator keeps the exact product (no
rounding to the currency): HubSpot's own rounding of this property is not documented.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["AMOUNT_INPUTS", "line_item_amount"]

AMOUNT_INPUTS = frozenset({"quantity", "price", "discount", "hs_discount_percentage"})


def line_item_amount(values: dict[str, str | None]) -> str | None:
    """The derived amount, or None when a figure is not a number (HubSpot then leaves amount unset)."""
    try:
        quantity = Decimal(values.get("quantity") or "0")
        price = Decimal(values.get("price") or "0")
        per_unit = Decimal(values.get("discount") or "0")
        percent = Decimal(values.get("hs_discount_percentage") or "0")
    except InvalidOperation:
        return None
    if per_unit:
        return str(quantity * (price - per_unit))
    if percent:
        return str(quantity * price * (Decimal(100) - percent) / Decimal(100))
    return str(quantity * price)
