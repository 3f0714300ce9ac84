"""Reading an invoice with its lines and replacing an unpaid invoice's lines (Xero: ``POST /Invoices/{id}``).

Xero lets an AUTHORISED invoice without payments be edited; the lines sent replace the invoice's lines (none
carries a ``LineItemID``, so none is kept). A paid or part-paid one is refused with a ValidationError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.xero_models import XeroInvoice, XeroLineItem, XeroLineItemTracking
from shared.domain.errors import BusinessRejection, PermanentError
from shared.domain.invoice_edits import InvoiceContent
from shared.domain.models import InvoiceDraft, InvoiceLine, InvoiceRef, Tracking
from shared.domain.money import unitdp

if TYPE_CHECKING:
    from shared.connectors.xero import XeroClient

SERVICE = "xero"


def wire_lines(draft: InvoiceDraft) -> list[XeroLineItem]:
    """The draft's lines as Xero takes them: the one mapping for creating an invoice and for editing one."""
    return [XeroLineItem(Description=line.description, Quantity=line.quantity, UnitAmount=line.unit_amount,
                         AccountCode=line.account_code, TaxType=line.tax_type, ItemCode=line.item_code,
                         DiscountRate=line.discount_rate, DiscountAmount=line.discount_amount,
                         Tracking=[XeroLineItemTracking(Name=t.name, Option=t.option) for t in line.tracking] or None)
            for line in draft.lines]


def precision(draft: InvoiceDraft) -> dict[str, str]:
    """``unitdp=4`` when a unit price needs it: without it Xero cuts every unit price to 2 decimals
    (12.3456 -> 12.35, and 3 x gives 37.05, not 37.04)."""
    return {"unitdp": "4"} if unitdp(line.unit_amount for line in draft.lines) == 4 else {}


def _line(item: XeroLineItem) -> InvoiceLine:
    return InvoiceLine(description=item.Description or "", quantity=item.Quantity or 0,
                       unit_amount=item.UnitAmount or 0, account_code=item.AccountCode or "",
                       tax_type=item.TaxType, item_code=item.ItemCode, discount_rate=item.DiscountRate or None,
                       discount_amount=item.DiscountAmount or None,
                       tracking=tuple(Tracking(name=t.Name or "", option=t.Option or "")
                                      for t in item.Tracking or [] if t.Name))


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
    updated = client._invoices(client._call("POST", f"/Invoices/{invoice_id}", params=precision(draft) or None,
                                            json={"Invoices": [body.wire()]}, idempotency_key=idempotency_key), what)
    if not updated:
        raise PermanentError(f"{what}: empty answer", service=SERVICE, code="bad_response")
    errors = client._item_errors(updated[0].ValidationErrors)
    if updated[0].HasErrors or errors:
        raise BusinessRejection(f"{what}: {'; '.join(errors) or 'rejected'}", service=SERVICE, code="validation",
                                details={"messages": errors})
    return client._invoice_ref(updated[0])
