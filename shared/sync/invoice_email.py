"""The saga's optional last step: Xero e-mails the AUTHORISED invoice to its contact, at most once.

It cannot be undone, so it runs after the write-back and is never compensated (a forward-only step); a
re-run first reads the invoice, and one already ``SentToContact`` is not sent again.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from shared.domain.errors import BusinessRejection
from shared.domain.models import InvoiceRef


class InvoiceMailer(Protocol):
    def get_invoice(self, invoice_id: str) -> InvoiceRef | None: ...

    def email_invoice(self, invoice_id: str) -> None: ...


class SendEmailInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tx_id: str
    invoice_id: str


class SendEmailResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_id: str
    outcome: Literal["sent", "already_sent", "not_authorised"]


def send_invoice_email(request: SendEmailInput, mailer: InvoiceMailer) -> SendEmailResult:
    invoice = mailer.get_invoice(request.invoice_id)
    if invoice is None:
        raise BusinessRejection(f"invoice {request.invoice_id} is gone: it was not e-mailed", service="xero",
                                code="email_not_sent")
    if invoice.sent_to_contact:
        return SendEmailResult(invoice_id=invoice.id, outcome="already_sent")
    if invoice.status != "AUTHORISED":
        # A draft is not the customer's yet; a paid or voided one needs no e-mail.
        return SendEmailResult(invoice_id=invoice.id, outcome="not_authorised")
    mailer.email_invoice(invoice.id)
    return SendEmailResult(invoice_id=invoice.id, outcome="sent")
