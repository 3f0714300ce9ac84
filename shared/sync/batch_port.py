"""What a batched step needs of the accounting system: many elements per call, each answered on its own.

``BatchAccounting`` is the port; ``OneByOne`` serves it with the single-record ``AccountingPort`` (one call
per element, each under a key derived from the batch's), so batching works, and stays correct, with an
accounting adapter that has no batch calls: only the call count differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from shared.connectors.ports import AccountingPort
from shared.domain.errors import BusinessRejection
from shared.domain.models import Customer, CustomerRef, InvoiceDraft, InvoiceRef

# Per element: the record made, or the system's own words refusing it. An element missing from the answer
# was not answered (it may or may not exist).
InvoiceAnswers = dict[str, InvoiceRef | str]  # by Reference
CustomerAnswers = dict[str, CustomerRef | str]  # by external id (ContactNumber)


class BatchAccounting(Protocol):
    def create_invoices(self, drafts: Sequence[InvoiceDraft], idempotency_key: str) -> InvoiceAnswers:
        """One call for all drafts; the same key and drafts again give the same answer, nothing new."""
        ...

    def create_customers(self, customers: Sequence[Customer], idempotency_key: str) -> CustomerAnswers: ...

    def find_invoices_by_references(self, references: Sequence[str]) -> dict[str, list[InvoiceRef]]: ...


def element_key(batch_key: str, element: str) -> str:
    return f"{batch_key}:{hashlib.sha256(element.encode()).hexdigest()[:16]}"


class OneByOne:
    """``BatchAccounting`` over single calls: a transient failure stops the batch where it is (raised)."""

    def __init__(self, accounting: AccountingPort) -> None:
        self.accounting = accounting

    def create_invoices(self, drafts: Sequence[InvoiceDraft], idempotency_key: str) -> InvoiceAnswers:
        answers: InvoiceAnswers = {}
        for draft in drafts:
            try:
                answers[draft.reference] = self.accounting.create_invoice(
                    draft, element_key(idempotency_key, draft.reference))
            except BusinessRejection as exc:
                answers[draft.reference] = exc.message
        return answers

    def create_customers(self, customers: Sequence[Customer], idempotency_key: str) -> CustomerAnswers:
        answers: CustomerAnswers = {}
        for customer in customers:
            try:
                answers[customer.external_id] = self.accounting.create_customer(
                    customer, element_key(idempotency_key, customer.external_id))
            except BusinessRejection as exc:
                answers[customer.external_id] = exc.message
        return answers

    def find_invoices_by_references(self, references: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        return {ref: self.accounting.find_invoices_by_reference(ref) for ref in references}


def batch_port(accounting: AccountingPort) -> BatchAccounting:
    """The batch calls for this accounting adapter: one call per element until it has batch calls of its own."""
    return OneByOne(accounting)
