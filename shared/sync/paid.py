"""When an invoice this app created is paid in accounting, mark its deal paid in the CRM (idempotent)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from shared.connectors.ports import AccountingPort, CrmPort

_REFERENCE = re.compile(r"^Deal ([A-Za-z0-9_-]{1,64})$")


class MarkPaidInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: str


class MarkPaidResult(BaseModel):
    outcome: str  # "marked_paid" | "not_paid" | "not_ours" | "unknown_invoice"
    deal_id: str = ""


def mark_deal_paid(request: MarkPaidInput, crm: CrmPort, accounting: AccountingPort) -> MarkPaidResult:
    # Webhook events carry ids only: read the invoice to learn its status and its deal.
    invoice = accounting.get_invoice(request.invoice_id)
    if invoice is None:
        return MarkPaidResult(outcome="unknown_invoice")
    match = _REFERENCE.match(invoice.reference or "")
    if match is None:
        return MarkPaidResult(outcome="not_ours")
    if invoice.status != "PAID":
        return MarkPaidResult(outcome="not_paid", deal_id=match.group(1))
    # The date accounting says it was paid, not today's: a redelivered event a day later writes the
    # same value (PATCH to known values), and the CRM shows when the money came in.
    paid_on = invoice.paid_on or datetime.now(UTC).date()
    crm.mark_paid(match.group(1), paid_on, invoice.id)
    return MarkPaidResult(outcome="marked_paid", deal_id=match.group(1))
