"""``BatchAccountingPort`` over the single-record ``AccountingPort``: one call per element.

For an accounting adapter without batch calls of its own (and the unit tests' fakes): the batched steps stay
correct, only the call count differs. Each element is sent under a key derived from the batch's, so a re-run
of the same batch sends the same keys. A transient failure stops the batch where it is (raised): what was
made before it is found again by the "may exist" lookup of the items' next attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from shared.connectors.ports import AccountingPort, ArchiveOutcome, ElementRejected, ElementUnanswered
from shared.domain.errors import BusinessRejection
from shared.domain.models import Customer, CustomerRef, InvoiceDraft, InvoiceRef, UndoOutcome


def element_key(batch_key: str, element: str) -> str:
    return f"{batch_key}:{hashlib.sha256(element.encode()).hexdigest()[:16]}"


def _each[T, R](items: Sequence[T], key: Callable[[T], str],
                call: Callable[[T], R]) -> dict[str, R | ElementRejected | ElementUnanswered]:
    """One call per element; a refusal is that element's answer, in the system's own words."""
    answers: dict[str, R | ElementRejected | ElementUnanswered] = {}
    for item in items:
        try:
            answers[key(item)] = call(item)
        except BusinessRejection as exc:
            answers[key(item)] = ElementRejected(messages=(exc.message,), code=exc.code)
    return answers


class OneByOne:
    """A ``BatchAccountingPort`` that makes one single-record call per element."""

    def __init__(self, accounting: AccountingPort) -> None:
        self.accounting = accounting

    def create_invoices(self, drafts: Sequence[InvoiceDraft],
                        idempotency_key: str) -> dict[str, InvoiceRef | ElementRejected | ElementUnanswered]:
        return _each(drafts, lambda d: d.reference,
                     lambda d: self.accounting.create_invoice(d, element_key(idempotency_key, d.reference)))

    def create_customers(self, customers: Sequence[Customer],
                         idempotency_key: str) -> dict[str, CustomerRef | ElementRejected | ElementUnanswered]:
        return _each(customers, lambda c: c.external_id,
                     lambda c: self.accounting.create_customer(c, element_key(idempotency_key, c.external_id)))

    def void_invoices(self, invoice_ids: Sequence[str]) -> dict[str, UndoOutcome | ElementRejected | ElementUnanswered]:
        return _each(invoice_ids, lambda i: i, self.accounting.undo_invoice)

    def archive_customers(self, customer_ids: Sequence[str]
                          ) -> dict[str, ArchiveOutcome | ElementRejected | ElementUnanswered]:
        answers: dict[str, ArchiveOutcome | ElementRejected | ElementUnanswered] = {}
        for customer_id in customer_ids:
            self.accounting.archive_customer(customer_id)
            answers[customer_id] = "archived"
        return answers

    def find_invoices_by_references(self, references: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        return {ref: self.accounting.find_invoices_by_reference(ref) for ref in references}

    def find_live_invoices_of(self, customer_ids: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        return {i: self.accounting.find_live_invoices(i) for i in dict.fromkeys(customer_ids)}

    def find_customers(self, external_ids: Sequence[str]) -> dict[str, CustomerRef]:
        found = {i: self.accounting.find_customer(i, include_archived=True) for i in dict.fromkeys(external_ids)}
        return {i: ref for i, ref in found.items() if ref is not None}
