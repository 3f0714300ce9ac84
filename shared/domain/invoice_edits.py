"""An invoice's lines as the accounting system holds them, and how they differ from the lines a deal maps to."""

from __future__ import annotations

from decimal import Decimal

from shared.domain.models import DomainModel, InvoiceDraft, InvoiceLine, InvoiceRef


class InvoiceContent(DomainModel):
    """One invoice with its lines (what an edit would replace) and its amounts before tax."""

    ref: InvoiceRef
    lines: tuple[InvoiceLine, ...] = ()
    sub_total: Decimal | None = None


def _line_key(line: InvoiceLine) -> tuple[object, ...]:
    # Decimal compares by value (1.0000 == 1): the accounting system's scale is not a difference.
    return (line.description.strip(), line.quantity, line.unit_amount, line.account_code, line.tax_type or None,
            line.item_code or None, line.discount_rate or Decimal(0), line.discount_amount or Decimal(0),
            line.tracking)


def _describe(line: InvoiceLine) -> str:
    discount = (f" less {line.discount_rate}%" if line.discount_rate else
                f" less {line.discount_amount}" if line.discount_amount else "")
    return f"{line.description.strip()[:60]!r} {line.quantity} x {line.unit_amount}{discount}"


def differences(draft: InvoiceDraft, content: InvoiceContent) -> list[str]:
    """What the invoice the deal maps to now has that the standing invoice has not, one phrase each; [] if none.

    Only what an edit of the lines can change counts (lines, currency): dates and the contact stay as invoiced.
    """
    found: list[str] = []
    if content.ref.currency and content.ref.currency != draft.currency:
        found.append(f"currency {content.ref.currency} on the invoice, {draft.currency} on the deal")
    wanted = [_line_key(line) for line in draft.lines]
    standing = [_line_key(line) for line in content.lines]
    if wanted != standing:
        gone = [_describe(line) for line in content.lines if _line_key(line) not in wanted]
        new = [_describe(line) for line in draft.lines if _line_key(line) not in standing]
        detail = "; ".join([*(f"invoice has {g}" for g in gone), *(f"deal has {n}" for n in new)])
        found.append(f"lines differ ({detail or 'order'})")
    return found
