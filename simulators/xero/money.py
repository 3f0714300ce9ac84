"""Xero's invoice arithmetic as the simulator applies it: unit precision, discounts, per-line rounding, tax.

Written from Xero's published rules, independently of the app's own computation, so that a test
comparing the two catches a wrong app:
- ``UnitAmount`` is rounded to 2 decimals, or to 4 when the request carries ``unitdp=4``;
- LineAmount = Quantity x UnitAmount x (100 - DiscountRate) / 100, or Quantity x UnitAmount - DiscountAmount
  (DiscountAmount is for the whole line), rounded to 2 decimals: every summary amount in Xero has
  2 decimals whatever the currency;
- tax per line, rounded to 2 decimals, then summed; a TaxAmount given on the line is taken as it is;
- Exclusive: Total = SubTotal + TotalTax; Inclusive: line amounts include their tax; NoTax: no tax.
Halves round away from zero (``ROUND_HALF_UP``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["LineMoney", "line_money", "money", "unit_amount"]

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def unit_amount(value: Decimal, unitdp: int) -> Decimal:
    """The unit price as Xero keeps it: 4 decimals with ``unitdp=4``, else 2."""
    return value.quantize(Decimal(1).scaleb(-4 if unitdp == 4 else -2), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineMoney:
    unit: Decimal
    line_amount: Decimal
    tax: Decimal
    net: Decimal  # the line's part of SubTotal (its amount without tax)


def line_money(qty: Decimal, unit: Decimal, *, unitdp: int, rate: Decimal, line_amount_types: str,
               discount_rate: Decimal | None = None, discount_amount: Decimal | None = None,
               tax_amount: Decimal | None = None) -> LineMoney:
    """One line's amounts; ``rate`` is the tax rate as a fraction (0.15)."""
    kept = unit_amount(unit, unitdp)
    gross = qty * kept
    if discount_rate:
        exact = gross * (HUNDRED - discount_rate) / HUNDRED
    elif discount_amount:
        exact = gross - discount_amount
    else:
        exact = gross
    amount = money(exact)
    if line_amount_types == "NoTax":
        tax = Decimal("0.00")
    elif tax_amount is not None:
        tax = money(tax_amount)
    elif line_amount_types == "Inclusive":
        tax = money(amount * rate / (1 + rate))
    else:
        tax = money(amount * rate)
    net = amount - tax if line_amount_types == "Inclusive" else amount
    return LineMoney(unit=kept, line_amount=amount, tax=tax, net=net)
