"""The invoice's total against the CRM deal's own amount: recorded, or refused before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.domain.errors import BusinessRejection
from shared.domain.models import Deal
from shared.domain.money import amount_places, round_money

__all__ = ["AmountCheck", "check_amount"]

SHOWN = 2  # Xero shows every amount with 2 decimals; so do the transaction and the status page


@dataclass(frozen=True)
class AmountCheck:
    deal_amount: str  # the CRM's amount in the currency's minor unit ("" when the deal has none)
    invoice_total: str  # the sum of the invoice's line amounts, as Xero computes them
    difference: str  # invoice_total - deal_amount ("" when the deal has no amount)
    beyond_tolerance: bool


def check_amount(deal: Deal, lines_total: Decimal, currency: str, *, mode: str, tolerance: Decimal) -> AmountCheck:
    """Compare the invoice's lines with the deal's amount, both rounded to the currency's minor unit.

    ``mode="refuse"`` raises ``BusinessRejection`` (code ``amount_mismatch``) naming both figures when they differ
    by more than ``tolerance``; ``"record"`` only returns the figures for the transaction.
    """
    total = round_money(lines_total, SHOWN)
    if deal.amount is None:
        return AmountCheck("", str(total), "", False)
    expected = round_money(round_money(deal.amount, amount_places(currency)), SHOWN)
    difference = total - expected
    beyond = abs(difference) > tolerance
    if beyond and mode == "refuse":
        raise BusinessRejection(
            f"deal {deal.id}: its line items come to {total} {currency} on the invoice, but the deal's amount "
            f"is {expected} {currency} (a difference of {difference}, more than the tolerance {tolerance}); "
            "correct the deal's amount or its line items in the CRM, then retry",
            service="sync", code="amount_mismatch",
            details={"deal_amount": str(expected), "invoice_total": str(total), "difference": str(difference)})
    return AmountCheck(str(expected), str(total), str(difference), beyond)
