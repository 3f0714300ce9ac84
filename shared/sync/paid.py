"""When an invoice of ours is paid (in part or in full), voided or deleted in accounting, say so on its deal.

An event names an invoice id only. The reference ("Deal <id>") says which deal to look at, but anyone can
type that reference on an invoice (a late fee raised by hand): the invoice is the deal's only when its id
is the one the deal's transaction recorded on the deal (``xero_invoice_id``). Events for any other invoice
change nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from shared.connectors.ports import AccountingPort, CrmPort
from shared.domain.errors import PermanentError, TransientError
from shared.domain.models import InvoiceRef
from shared.sync.payments import PAID_FIELDS, PARTIALLY_PAID, payment_markers, unchanged

_REFERENCE = re.compile(r"^Deal ([A-Za-z0-9_-]{1,64})$")
GONE = {"VOIDED": "voided", "DELETED": "deleted"}
VOIDED_STATUS = "voided"  # the deal's sync status once its invoice was voided or deleted by hand


class MarkPaidInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_id: str
    # Set when the invoice was read already, with others of its delivery in one call (``read_invoices``):
    # the write-back uses that read instead of its own. ``invoice`` None then means Xero has no such invoice.
    read: bool = False
    invoice: InvoiceRef | None = None


class ReadInvoicesInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoice_ids: list[str]


class ReadInvoicesResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invoices: dict[str, InvoiceRef | None]  # every id asked for; None when Xero has no such invoice


def read_invoices(request: ReadInvoicesInput, accounting: AccountingPort) -> ReadInvoicesResult:
    """The invoices of one delivery's events in as few calls as the accounting system allows."""
    found = accounting.get_invoices(request.invoice_ids)
    return ReadInvoicesResult(invoices={i: found.get(i) for i in request.invoice_ids})


class MarkPaidResult(BaseModel):
    # "marked_paid" | "marked_partially_paid" | "not_paid" | "not_ours" | "unknown_invoice" | "unknown_deal"
    # | "invoice_voided" | "invoice_deleted"
    outcome: str
    deal_id: str = ""
    transaction_id: str = ""  # set when the deal's transaction must hear of it (its invoice is gone)
    invoice_status: str = ""
    message: str = ""


def mark_deal_paid(request: MarkPaidInput, crm: CrmPort, accounting: AccountingPort,
                   trigger_stage: str | None = None) -> MarkPaidResult:
    # Webhook events carry ids only: read the invoice (unless read already) to learn its status and its deal.
    invoice = request.invoice if request.read else accounting.get_invoice(request.invoice_id)
    if invoice is None:
        return MarkPaidResult(outcome="unknown_invoice")
    match = _REFERENCE.match(invoice.reference or "")
    if match is None:
        return MarkPaidResult(outcome="not_ours")
    deal_id = match.group(1)
    try:
        deal = crm.get_deal(deal_id)
    except PermanentError as exc:
        if exc.code != "not_found":
            raise
        return MarkPaidResult(outcome="unknown_deal", deal_id=deal_id)
    markers = deal.markers
    if markers.invoice_id != invoice.id:
        if markers.sync_status == "in_progress":
            # A transaction holds the deal and has not written its invoice id back yet (the event can
            # arrive first): ask again later rather than decide on a half-written deal.
            raise TransientError(f"deal {deal_id} is being invoiced; its invoice id is not written back yet",
                                 service="sync", code="write_back_pending", retry_after=30)
        return MarkPaidResult(outcome="not_ours", deal_id=deal_id)
    gone = GONE.get(invoice.status)
    if gone is not None and trigger_stage is not None and deal.stage != trigger_stage:
        # The deal is no longer won: the void is its loss (the app's life event made it and told the deal, or
        # a person did on purpose). Offering Retry, or writing over the deal's note, would be wrong.
        return MarkPaidResult(outcome=f"invoice_{gone}", deal_id=deal_id, invoice_status=invoice.status)
    if gone is not None:
        message = (f"invoice {invoice.number or invoice.id} was {gone} in Xero: the deal is not invoiced; "
                   "press Retry on its transaction to invoice it again")
        # Paid markers go too: the deal has no invoice that could be paid.
        crm.update_markers(deal_id, {"sync_status": VOIDED_STATUS, "last_error": message,
                                     **dict.fromkeys(PAID_FIELDS, "")})
        return MarkPaidResult(outcome=f"invoice_{gone}", deal_id=deal_id, transaction_id=markers.transaction_id,
                              invoice_status=invoice.status, message=message)
    # The invoice as it stands now, not as the event saw it: a late or redelivered event writes the same
    # values (PATCH to known values), and the date is the one accounting says it was paid, not today's.
    values = payment_markers(invoice, datetime.now(UTC).date())
    outcome = {"paid": "marked_paid", PARTIALLY_PAID: "marked_partially_paid"}.get(values["paid_status"], "not_paid")
    if not unchanged(markers, values):
        crm.update_markers(deal_id, values)
    return MarkPaidResult(outcome=outcome, deal_id=deal_id)
