"""How each deal saga step's input, and its undo's, is built from the typed saga state."""

from __future__ import annotations

from shared.domain.invoice_mapping import reference_for
from shared.domain.models import SyncMarkers
from shared.sync.invoice_email import SendEmailInput
from shared.sync.messages import (
    ArchiveCustomerInput,
    CreateInvoiceInput,
    CreateInvoiceResult,
    EnsureCustomerInput,
    EnsureCustomerResult,
    LoadDealInput,
    LoadDealResult,
    MarkersInput,
    UndoInvoiceInput,
)
from shared.sync.saga_state import DealSagaState

MAX_NOTE = 300  # the CRM shows the error marker in a list; one readable line


def _load(st: DealSagaState) -> LoadDealResult:
    if st.load is None:
        raise RuntimeError("the load step has no result: a later step cannot be built")
    return st.load


def _invoice(st: DealSagaState) -> CreateInvoiceResult:
    if st.invoice is None:
        raise RuntimeError("the invoice step has no result: a later step cannot be built")
    return st.invoice


def _claimed(st: DealSagaState) -> SyncMarkers:
    return _load(st).previous.model_copy(update={"sync_status": "in_progress", "transaction_id": st.input.tx_id})


def load_input(st: DealSagaState) -> LoadDealInput:
    return LoadDealInput(tx_id=st.input.tx_id, deal_id=st.input.deal_id, today=st.input.today, round=st.input.round)


def _markers(st: DealSagaState, values: SyncMarkers, undo: bool = False) -> MarkersInput:
    return MarkersInput(deal_id=st.input.deal_id, values=values, undo=undo, tx_id=st.input.tx_id,
                        round=st.input.round)


def claim_input(st: DealSagaState) -> MarkersInput:
    return _markers(st, values=_claimed(st))


def rollback_note(st: DealSagaState) -> str:
    """The deal's error marker after a rollback: one line saying at which step and why."""
    failure = st.failure
    if failure is None:
        return "Not invoiced: the sync was rolled back by a person"
    step = failure.step or "a step"
    text = " ".join(f"Not invoiced, rolled back at {step}: {failure.message or failure.code}".split())
    return text if len(text) <= MAX_NOTE else text[: MAX_NOTE - 1] + "…"


def claim_undo_input(st: DealSagaState) -> MarkersInput:
    # The deal goes back to its markers before the claim, with one line saying why nothing was invoiced.
    values = _load(st).previous.model_copy(update={"last_error": rollback_note(st)})
    return _markers(st, values=values, undo=True)


def customer_input(st: DealSagaState) -> EnsureCustomerInput:
    load = _load(st)
    return EnsureCustomerInput(tx_id=st.input.tx_id, round=st.input.round, company_id=load.company_id,
                               contact_ids=load.deal.contact_ids, existing=load.existing_customer,
                               company=load.company, first_contact=load.first_contact,
                               look_up=not load.customer_looked_up)


def customer_undo_input(st: DealSagaState) -> ArchiveCustomerInput:
    load = _load(st)
    done: EnsureCustomerResult | None = st.customer
    # After a person's retry, the load sees the customer an earlier round of this transaction created
    # as "existing": that round's result says whose it is, and the undo must still archive it.
    ours = next((r for r in st.earlier_customers if r.created), None)
    existed = (ours is None and load.existing_customer is not None
               and load.existing_customer.status != "ARCHIVED")
    customer_id = done.customer.id if done else (ours.customer.id if ours else None)
    created = True if ours is not None else (done.created if done else None)
    return ArchiveCustomerInput(company_id=load.company_id, existed_before=existed, customer_id=customer_id,
                                created=created, reference=reference_for(st.input.deal_id), tx_id=st.input.tx_id,
                                round=st.input.round)


def invoice_input(st: DealSagaState) -> CreateInvoiceInput:
    load = _load(st)
    if st.customer is None:
        raise RuntimeError("the customer step has no result: the invoice cannot be built")
    return CreateInvoiceInput(tx_id=st.input.tx_id, round=st.input.round, deal=load.deal, line_items=load.line_items,
                              customer_id=st.customer.customer.id, today=st.input.today,
                              after_stranded=st.input.after_stranded)


def invoice_undo_input(st: DealSagaState) -> UndoInvoiceInput:
    return UndoInvoiceInput(reference=reference_for(st.input.deal_id),
                            invoice_id=st.invoice.invoice.id if st.invoice else None, tx_id=st.input.tx_id,
                            round=st.input.round)


def write_back_input(st: DealSagaState) -> MarkersInput:
    invoice = _invoice(st).invoice
    values = SyncMarkers(sync_status="synced", transaction_id=st.input.tx_id, invoice_id=invoice.id,
                         invoice_number=invoice.number, invoice_url=invoice.url, last_error="")
    return _markers(st, values=values)


def write_back_undo_input(st: DealSagaState) -> MarkersInput:
    return _markers(st, values=_claimed(st), undo=True)


def email_input(st: DealSagaState) -> SendEmailInput:
    return SendEmailInput(tx_id=st.input.tx_id, invoice_id=_invoice(st).invoice.id)
