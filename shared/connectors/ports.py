"""The saga's ports: what it needs from a CRM and an accounting system, in its own terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

from shared.domain.errors import SyncError
from shared.domain.invoice_edits import InvoiceContent
from shared.domain.models import (
    Company,
    Customer,
    CustomerRef,
    Deal,
    DealSnapshot,
    DomainModel,
    InvoiceDraft,
    InvoiceRef,
    LineItem,
    Person,
    UndoOutcome,
)

__all__ = [
    "AccountingPort", "ArchiveOutcome", "BatchAccountingPort", "BatchCrmReads", "BatchCrmUpdates", "CrmPort",
    "CustomerMap", "DealPage", "ElementRejected", "ElementUnanswered",
]


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
class BatchCrmReads(Protocol):
    """Many deals per read of a CRM (HubSpot's batch reads): the batched load step's port.

    Each deal asked is answered on its own, keyed by its id: its snapshot, complete (line items, primary
    company and first contact read; a company the mapping cannot read is None, as ``get_deal_snapshot`` leaves
    it), or the error a single ``get_deal_snapshot`` of it would have raised (PermanentError ``not_found`` for
    a deleted deal, BusinessRejection naming the property for an unreadable one). A failure of the whole read
    (429, 5xx, token) raises, as ``CrmPort`` does.
    """

    def get_deal_snapshots(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | SyncError]: ...


@runtime_checkable
class BatchCrmUpdates(Protocol):
    """Many deals' sync markers in one call (HubSpot's batch update): the batched marker steps' port.

    All or nothing: every deal's markers are written, or none is. A refusal raises BusinessRejection code
    ``batch_rejected`` whose ``details["ids"]`` lists the deals the CRM named (none named: the caller bisects);
    a 429 raises TransientError code ``rate_limited`` (nothing written); other failures as ``CrmPort``.
    """

    def update_markers_batch(self, updates: Mapping[str, Mapping[str, str]]) -> None:
        """Write each deal's markers (deal id -> ``SyncMarkers`` field names and values); at most 100 deals."""
        ...


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

    def get_customers(self, ids: Sequence[str]) -> dict[str, CustomerRef]:
        """The customers with these ids that exist, archived ones included (see ``status``), by id; an id
        the system does not know (or one merged into another customer) is left out. Few calls: many ids each."""
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


@runtime_checkable
class CustomerMap(Protocol):
    """Which accounting customer is a CRM company's, remembered locally (for the connected organisation), so that
    the saga reads it by id instead of searching by the company id, an unoptimised filter for the accounting
    system. Only *which* customer: its status is read from the accounting system on each use.

    Raises only ``TransientError`` (storage unreachable); every write is idempotent.
    """

    def contact_id(self, company_id: str) -> str | None:
        """The customer id recorded for the company; None if none."""
        ...

    def record(self, company_id: str, contact_id: str) -> None:
        """Remember the company's customer (the same call twice leaves one row)."""
        ...


class ElementRejected(DomainModel):
    """The accounting system refused this element of a batch, in its own words; the other elements went on.

    ``code`` is ``validation`` (the element's data) or ``credit_note_required`` (a paid invoice to undo)."""

    messages: tuple[str, ...]
    code: str = "validation"

    @property
    def message(self) -> str:
        return "; ".join(self.messages) or "rejected"


class ElementUnanswered(DomainModel):
    """The batch's answer carries no element for this item: it may exist; look it up before sending it again."""

    reason: str = ""


ArchiveOutcome = Literal["archived", "already_gone", "absent"]


@runtime_checkable
class BatchAccountingPort(Protocol):
    """Many items per call to an accounting system (Xero today): the batched saga steps' port.

    Each method answers every item, keyed by what identifies it (a draft's reference, a customer's external id,
    an invoice or customer id), in the order given: its record, an ``ElementRejected`` (a business rejection of
    that item alone) or an ``ElementUnanswered`` (may exist). Results are matched by those keys, never by
    position: the system does not promise its answer's order. More items than one call takes are split.

    A failure of the whole call raises ``shared.domain.errors`` types as ``AccountingPort`` does:
    TransientError (429, 5xx, timeouts: whether anything was created is unknown, unless the code is
    ``rate_limited``/``quota_exhausted``), PermanentError code ``payload_too_large`` (a 413: split the batch),
    BusinessRejection code ``batch_rejected`` (a 400 of the whole request: nothing was created; split or fix).

    Idempotency keys: the same composition gets the same key (so a retry replays the first answer); a new key
    only after a definite "nothing was created"; never a used key with another body.
    """

    def create_invoices(
        self, drafts: Sequence[InvoiceDraft], idempotency_key: str
    ) -> dict[str, InvoiceRef | ElementRejected | ElementUnanswered]:
        """Create sales invoices; results keyed by each draft's (unique) reference."""
        ...

    def create_customers(
        self, customers: Sequence[Customer], idempotency_key: str
    ) -> dict[str, CustomerRef | ElementRejected | ElementUnanswered]:
        """Create customers; results keyed by each customer's (unique) external id."""
        ...

    def void_invoices(self, invoice_ids: Sequence[str]) -> dict[str, UndoOutcome | ElementRejected | ElementUnanswered]:
        """Undo invoices as ``AccountingPort.undo_invoice`` does (void, or delete a draft); a paid one is an
        ``ElementRejected`` with code ``credit_note_required``."""
        ...

    def archive_customers(
        self, customer_ids: Sequence[str]
    ) -> dict[str, ArchiveOutcome | ElementRejected | ElementUnanswered]:
        """Archive customers (the undo of create); already archived or unknown counts as done."""
        ...

    def find_invoices_by_references(self, references: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        """The invoices carrying each reference exactly (an empty list for none): the "may exist" lookup."""
        ...

    def find_live_invoices_of(self, customer_ids: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        """Each customer's live invoices, as ``AccountingPort.find_live_invoices`` finds them (an empty list for
        none): what the batched archive checks before it archives a customer."""
        ...

    def find_customers(self, external_ids: Sequence[str]) -> dict[str, CustomerRef]:
        """The customer carrying each external id (the CRM company id), archived ones included (an active one
        preferred), as ``AccountingPort.find_customer`` finds one; an id no customer carries is left out."""
        ...
