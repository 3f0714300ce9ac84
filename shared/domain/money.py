"""Invoice lines and totals computed as Xero computes them, so that the invoice is known to the cent before it is sent.

Xero's rules (its API guide "Rounding in Xero" and the LineItem schema of its OpenAPI spec):
- ``UnitAmount`` is kept to 2 decimals unless the request carries ``unitdp=4``, then to 4; more is never
  kept. A price with 5 or more decimals is rounded here to 4, so what is sent is what Xero keeps.
- LineAmount = Quantity x UnitAmount x (100 - DiscountRate) / 100, or Quantity x UnitAmount - DiscountAmount,
  where DiscountAmount is the discount of the whole line (HubSpot's ``discount`` is per unit: x quantity).
- Each line is rounded on its own; tax is computed per line, rounded, then summed.
- Every summary amount (LineAmount, tax, totals) has at most 2 decimals in Xero, whatever the currency: a
  3-decimal currency (KWD, BHD, ...) is invoiced to 2 decimals, and a zero-decimal one (JPY, ...) to whole
  units, which Xero reaches only when it is sent a DiscountAmount that makes the line whole (see ``price_line``).

Halves are rounded away from zero (``ROUND_HALF_UP``), the rounding of the tax authorities of Xero's home
markets (ATO, IRD) and the simulator's; Xero does not publish its mode for exact halves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "UNIT_PLACES",
    "LineMoney",
    "Totals",
    "amount_places",
    "minor_unit",
    "price_line",
    "round_money",
    "totals",
    "unit_price",
    "unitdp",
    "xero_line_amount",
]

ROUNDING = ROUND_HALF_UP
UNIT_PLACES = 4  # Xero keeps unit prices to 4 decimals at most (with unitdp=4)
XERO_PLACES = 2  # and every amount to 2
HUNDRED = Decimal(100)
# ISO 4217 minor units of the currencies that do not have 2 (every other has 2).
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                     "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def minor_unit(currency: str) -> int:
    """The currency's decimals by ISO 4217 (JPY 0, KWD 3, most 2)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def amount_places(currency: str) -> int:
    """The decimals of an invoice amount in this currency in Xero: the minor unit, never more than Xero's 2."""
    return min(minor_unit(currency), XERO_PLACES)


def round_money(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


def unit_price(price: Decimal) -> Decimal:
    """The unit price as sent: rounded to 4 decimals, and shown with 2 when it has no more."""
    kept = round_money(price, UNIT_PLACES)
    return kept.quantize(Decimal("0.01")) if kept == kept.quantize(Decimal("0.01")) else kept.normalize()


def unitdp(units: Iterable[Decimal]) -> int:
    """4 when any unit price has more than 2 decimals (the request must then say ``unitdp=4``), else 2."""
    return 4 if any(u != u.quantize(Decimal("0.01")) for u in units) else 2


def xero_line_amount(quantity: Decimal, unit: Decimal, discount_rate: Decimal | None = None,
                     discount_amount: Decimal | None = None) -> Decimal:
    """The LineAmount Xero computes from a line as sent (Xero's own formula, 2 decimals)."""
    gross = quantity * round_money(unit, UNIT_PLACES)
    if discount_rate:
        return round_money(gross * (HUNDRED - discount_rate) / HUNDRED, XERO_PLACES)
    return round_money(gross - (discount_amount or 0), XERO_PLACES)


@dataclass(frozen=True)
class LineMoney:
    """One line as it is sent and as Xero will compute it."""

    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None  # sent as DiscountRate
    discount_amount: Decimal | None  # sent as DiscountAmount (the whole line's)
    line_amount: Decimal  # what Xero computes from the above, in the currency's minor unit
    tax_amount: Decimal | None  # None when the tax rate is not known


def price_line(quantity: Decimal, price: Decimal, currency: str, *, discount_per_unit: Decimal = Decimal(0),
               discount_percent: Decimal = Decimal(0), tax_rate: Decimal | None = None,
               line_amount_types: str = "Exclusive") -> LineMoney:
    """One line: ``discount_per_unit`` (HubSpot's ``discount``) or ``discount_percent``; ``tax_rate`` a fraction.

    A discount is sent as Xero can take it exactly: a percentage with up to 2 decimals as DiscountRate (Xero
    keeps 2), else as the DiscountAmount that gives the same line. When Xero's 2-decimal line would not be a
    whole amount of a zero-decimal currency, the line's discount is sent as the DiscountAmount that makes it so.
    """
    if discount_per_unit and discount_percent:
        raise ValueError("a line has either a discount per unit or a discount percentage, not both")
    unit = unit_price(price)
    gross = quantity * unit
    off = gross * discount_percent / HUNDRED if discount_percent else discount_per_unit * quantity
    exact = gross - off
    places = amount_places(currency)
    target = round_money(exact, places)
    rate: Decimal | None = None
    amount: Decimal | None = None
    if discount_percent and discount_percent == round_money(discount_percent, 2) \
            and round_money(exact, XERO_PLACES) == target:
        rate = discount_percent
    elif discount_per_unit and (quantity * discount_per_unit) == round_money(quantity * discount_per_unit, 2) \
            and round_money(exact, XERO_PLACES) == target:
        amount = round_money(quantity * discount_per_unit, XERO_PLACES)
    elif discount_percent or discount_per_unit or round_money(gross, XERO_PLACES) > target:
        amount = round_money(gross, XERO_PLACES) - target
    amount = amount or None
    line = xero_line_amount(quantity, unit, rate, amount)  # the target, when Xero can be brought to it
    tax = None if tax_rate is None else line_tax(line, tax_rate, line_amount_types)
    return LineMoney(quantity=quantity, unit_amount=unit, discount_rate=rate,
                     discount_amount=amount, line_amount=line, tax_amount=tax)


def line_tax(line_amount: Decimal, rate: Decimal, line_amount_types: str) -> Decimal:
    """A line's tax, rounded on its own: on top of the amount (Exclusive), inside it (Inclusive), or none."""
    if line_amount_types == "NoTax" or not rate:
        return Decimal("0.00")
    if line_amount_types == "Inclusive":
        return round_money(line_amount * rate / (1 + rate), XERO_PLACES)
    return round_money(line_amount * rate, XERO_PLACES)


@dataclass(frozen=True)
class Totals:
    lines: Decimal  # the sum of the line amounts: what the CRM's amounts are compared with
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal


def totals(lines: Iterable[LineMoney], line_amount_types: str = "Exclusive") -> Totals:
    """Xero's SubTotal, TotalTax and Total: the sums of the lines' rounded figures (tax unknown counts 0)."""
    items = list(lines)
    amounts = sum((i.line_amount for i in items), Decimal("0.00"))
    tax = sum((i.tax_amount or Decimal(0) for i in items), Decimal("0.00"))
    if line_amount_types == "Inclusive":
        return Totals(lines=amounts, sub_total=amounts - tax, total_tax=tax, total=amounts)
    return Totals(lines=amounts, sub_total=amounts, total_tax=tax, total=amounts + tax)
