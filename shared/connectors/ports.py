"""The saga's ports: what it needs from a CRM and an accounting system, in its own terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from shared.domain.invoice_edits import InvoiceContent
from shared.domain.models import (
    Company,
    Customer,
    CustomerRef,
    Deal,
    DealSnapshot,
    InvoiceDraft,
    InvoiceRef,
    LineItem,
    Person,
    UndoOutcome,
)

__all__ = ["AccountingPort", "CrmPort", "DealPage"]


@dataclass(frozen=True)
class DealPage:
    """One page of a deal search; ``next_after`` is the cursor of the next page, None on the last."""

    deals: list[Deal] = field(default_factory=list)
    next_after: str | None = None


@runtime_checkable
class CrmPort(Protocol):
    """A CRM as the sync sees it (HubSpot today; Dynamics 365 or Salesforce are one more adapter).

    Every method raises only ``shared.domain.errors`` types: TransientError (retry later),
    PermanentError (retrying cannot help; includes an unknown id) or BusinessRejection (bad data
    in the CRM, e.g. a deal whose amount is not a number: the message names the field).
    """

    def get_deal(self, deal_id: str) -> Deal:
        """The deal with its properties, markers and associated company/contact/line-item ids (one call)."""
        ...

    def get_deal_snapshot(self, deal_id: str) -> DealSnapshot:
        """The deal (as ``get_deal``) and, where the CRM can give them in the same call, its line items,
        company and first contact; what it leaves None the caller reads with the calls below."""
        ...

    def get_line_items(self, ids: Sequence[str]) -> list[LineItem]:
        """The line items, in the order of ``ids`` (one batch call)."""
        ...

    def get_company(self, company_id: str) -> Company: ...

    def get_person(self, contact_id: str) -> Person: ...

    def search_deals(
        self, since: datetime, stage: str, after: str | None = None, limit: int = 100
    ) -> DealPage:
        """One page of deals in ``stage`` modified at or after ``since``, oldest first."""
        ...

    def update_markers(self, deal_id: str, values: Mapping[str, str]) -> None:
        """Write sync markers in one update; keys are ``SyncMarkers`` field names."""
        ...

    def mark_paid(self, deal_id: str, paid_on: date, invoice_id: str) -> None: ...


@runtime_checkable
class AccountingPort(Protocol):
    """An accounting system as the sync sees it (Xero today; QuickBooks Online is one more adapter).

    Raises only ``shared.domain.errors`` types, as ``CrmPort`` does. Methods that create take an
    ``idempotency_key``: the same key twice creates one record.
    """

    def find_customer(self, external_id: str, *, include_archived: bool = False) -> CustomerRef | None:
        """The active customer (or, with ``include_archived``, an archived one: see ``status``) that carries
        this external id (the CRM company id); None if none. Never by name or e-mail: those are not unique."""
        ...

    def find_customers_named(self, name: str) -> list[CustomerRef]:
        """The active customers with this name as the accounting system compares names for uniqueness."""
        ...

    def reactivate_customer(self, customer_id: str) -> CustomerRef:
        """Make an archived customer active again."""
        ...

    def create_customer(self, customer: Customer, idempotency_key: str) -> CustomerRef: ...

    def archive_customer(self, customer_id: str) -> None:
        """Archive (the undo of create); already archived or unknown counts as done."""
        ...

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> InvoiceRef:
        """Create a sales invoice; validation failures raise BusinessRejection with the system's words."""
        ...

    def get_invoice(self, invoice_id: str) -> InvoiceRef | None: ...

    def get_invoices(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceRef]:
        """The invoices of these ids that exist, keyed by the id as asked (few calls: many ids per call)."""
        ...

    def find_invoices_by_reference(self, reference: str) -> list[InvoiceRef]: ...

    def find_live_invoices(self, customer_id: str) -> list[InvoiceRef]:
        """The customer's invoices that still stand (draft, submitted, authorised or paid)."""
        ...

    def get_invoice_content(self, invoice_id: str) -> InvoiceContent | None:
        """The invoice with its lines; None if there is no such invoice."""
        ...

    def update_invoice_lines(self, invoice_id: str, draft: InvoiceDraft, idempotency_key: str) -> InvoiceRef:
        """Replace an unpaid invoice's lines with the draft's (an invoice with payments is refused:
        BusinessRejection with the system's words)."""
        ...

    def undo_invoice(self, invoice_id: str) -> UndoOutcome:
        """Delete or void; a paid invoice raises BusinessRejection (a person must issue a credit note)."""
        ...

    def invoice_link(self, invoice_id: str) -> str:
        """A link into the accounting app for people (no call)."""
        ...
