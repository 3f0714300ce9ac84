"""Reading an invoice with its lines and replacing an unpaid invoice's lines (Xero: ``POST /Invoices/{id}``).

Xero lets an AUTHORISED invoice without payments be edited; the lines sent replace the invoice's lines (none
carries a ``LineItemID``, so none is kept). A paid or part-paid one is refused with a ValidationError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.xero_models import XeroInvoice, XeroLineItem
from shared.domain.errors import BusinessRejection, PermanentError
from shared.domain.invoice_edits import InvoiceContent
from shared.domain.models import InvoiceDraft, InvoiceLine, InvoiceRef

if TYPE_CHECKING:
    from shared.connectors.xero import XeroClient

SERVICE = "xero"


def wire_lines(draft: InvoiceDraft) -> list[XeroLineItem]:
    return [XeroLineItem(Description=line.description, Quantity=line.quantity, UnitAmount=line.unit_amount,
                         AccountCode=line.account_code, TaxType=line.tax_type, ItemCode=line.item_code,
                         DiscountRate=line.discount_rate) for line in draft.lines]


def _line(item: XeroLineItem) -> InvoiceLine:
    return InvoiceLine(description=item.Description or "", quantity=item.Quantity or 0,
                       unit_amount=item.UnitAmount or 0, account_code=item.AccountCode or "",
                       tax_type=item.TaxType, item_code=item.ItemCode, discount_rate=item.DiscountRate or None)


def get_invoice_content(client: XeroClient, invoice_id: str) -> InvoiceContent | None:
    found: XeroInvoice | None = client._get_invoice(invoice_id)
    if found is None:
        return None
    return InvoiceContent(ref=client._invoice_ref(found), lines=tuple(_line(i) for i in found.LineItems or []),
                          sub_total=found.SubTotal)


def update_invoice_lines(client: XeroClient, invoice_id: str, draft: InvoiceDraft,
                         idempotency_key: str) -> InvoiceRef:
    body = XeroInvoice(InvoiceID=invoice_id, LineItems=wire_lines(draft))
    what = f"update invoice {invoice_id}"
    # The key makes a re-run of the activity (its answer lost) replay Xero's first answer, not edit again.
    updated = client._invoices(client._call("POST", f"/Invoices/{invoice_id}", json={"Invoices": [body.wire()]},
                                            idempotency_key=idempotency_key), what)
    if not updated:
        raise PermanentError(f"{what}: empty answer", service=SERVICE, code="bad_response")
    errors = client._item_errors(updated[0].ValidationErrors)
    if updated[0].HasErrors or errors:
        raise BusinessRejection(f"{what}: {'; '.join(errors) or 'rejected'}", service=SERVICE, code="validation",
                                details={"messages": errors})
    return client._invoice_ref(updated[0])
