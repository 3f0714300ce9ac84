"""What a deal says of its invoice's payments: the paid markers for the invoice as accounting has it now.

Always from the invoice's current state, never from an event: events arrive late, twice and out of
order, and the same state always gives the same values (a PATCH to known values), so a redelivered or
older event writes what is already there.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.domain.models import InvoiceRef, SyncMarkers

CENT = Decimal("0.01")
PAID = "paid"
PARTIALLY_PAID = "partially_paid"
PAID_FIELDS = ("paid_status", "paid_date", "amount_paid", "amount_due")


def _money(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(CENT)


def payment_markers(invoice: InvoiceRef, today: date) -> dict[str, str]:
    """The deal's paid markers for ``invoice``: paid (with the day it was fully paid), partly paid, or none.

    ``today`` stands in for the payment day only when accounting reports the invoice paid without one.
    """
    if invoice.status == "PAID":
        # Fully paid: the whole total, nothing due, on the day accounting says the last payment came in.
        paid = _money(invoice.total if invoice.total is not None else invoice.amount_paid)
        return {"paid_status": PAID, "paid_date": (invoice.paid_on or today).isoformat(),
                "amount_paid": str(paid), "amount_due": str(_money(Decimal(0)))}
    paid = _money(invoice.amount_paid)
    if paid > 0:
        due = invoice.amount_due if invoice.amount_due is not None else (invoice.total or paid) - paid
        return {"paid_status": PARTIALLY_PAID, "paid_date": "", "amount_paid": str(paid),
                "amount_due": str(_money(due))}
    # Nothing paid (never, or a payment was removed in accounting): no paid markers at all.
    return dict.fromkeys(PAID_FIELDS, "")


def unchanged(markers: SyncMarkers, values: dict[str, str]) -> bool:
    """Whether the deal already shows ``values``: then there is nothing to write (no needless PATCH)."""
    shown = markers.model_dump()
    return all(_same(str(shown.get(field, "")), value) for field, value in values.items())


def _same(shown: str, value: str) -> bool:
    # The CRM may give a number back as "1500" or "1500.0", and a date as a date-time at midnight.
    if shown == value:
        return True
    try:
        return Decimal(shown) == Decimal(value)
    except ArithmeticError:
        return len(value) == 10 and shown[:10] == value and shown[10:11] in ("T", " ")
