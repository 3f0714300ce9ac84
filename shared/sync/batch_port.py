"""``BatchAccountingPort`` over the single-record ``AccountingPort``: one call per element.

For an accounting adapter without batch calls of its own (and the unit tests' fakes): the batched steps stay
correct, only the call count differs. Each element is sent under a key derived from the batch's, so a re-run
of the same batch sends the same keys. A transient failure stops the batch where it is (raised): what was
made before it is found again by the "may exist" lookup of the items' next attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from shared.connectors.ports import AccountingPort, ArchiveOutcome, ElementRejected, ElementUnanswered
from shared.domain.errors import BusinessRejection
from shared.domain.models import Customer, CustomerRef, InvoiceDraft, InvoiceRef, UndoOutcome


def element_key(batch_key: str, element: str) -> str:
    return f"{batch_key}:{hashlib.sha256(element.encode()).hexdigest()[:16]}"


def _refused(exc: BusinessRejection) -> ElementRejected:
    return ElementRejected(messages=(exc.message,), code=exc.code)


class OneByOne:
    """A ``BatchAccountingPort`` that makes one single-record call per element."""

    def __init__(self, accounting: AccountingPort) -> None:
        self.accounting = accounting

    def create_invoices(self, drafts: Sequence[InvoiceDraft],
                        idempotency_key: str) -> dict[str, InvoiceRef | ElementRejected | ElementUnanswered]:
        answers: dict[str, InvoiceRef | ElementRejected | ElementUnanswered] = {}
        for draft in drafts:
            try:
                answers[draft.reference] = self.accounting.create_invoice(
                    draft, element_key(idempotency_key, draft.reference))
            except BusinessRejection as exc:
                answers[draft.reference] = _refused(exc)
        return answers

    def create_customers(self, customers: Sequence[Customer],
                         idempotency_key: str) -> dict[str, CustomerRef | ElementRejected | ElementUnanswered]:
        answers: dict[str, CustomerRef | ElementRejected | ElementUnanswered] = {}
        for customer in customers:
            try:
                answers[customer.external_id] = self.accounting.create_customer(
                    customer, element_key(idempotency_key, customer.external_id))
            except BusinessRejection as exc:
                answers[customer.external_id] = _refused(exc)
        return answers

    def void_invoices(self, invoice_ids: Sequence[str]) -> dict[str, UndoOutcome | ElementRejected | ElementUnanswered]:
        answers: dict[str, UndoOutcome | ElementRejected | ElementUnanswered] = {}
        for invoice_id in invoice_ids:
            try:
                answers[invoice_id] = self.accounting.undo_invoice(invoice_id)
            except BusinessRejection as exc:
                answers[invoice_id] = _refused(exc)
        return answers

    def archive_customers(self, customer_ids: Sequence[str]
                          ) -> dict[str, ArchiveOutcome | ElementRejected | ElementUnanswered]:
        answers: dict[str, ArchiveOutcome | ElementRejected | ElementUnanswered] = {}
        for customer_id in customer_ids:
            self.accounting.archive_customer(customer_id)
            answers[customer_id] = "archived"
        return answers

    def find_invoices_by_references(self, references: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        return {ref: self.accounting.find_invoices_by_reference(ref) for ref in references}
