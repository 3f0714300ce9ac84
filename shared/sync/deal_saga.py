"""The deal-to-invoice saga: five steps, each undo registered before its step, built from earlier results.

    load        read the deal, its line items and the accounting customer (nothing to undo)
    claim       deal markers → in_progress by this transaction   undo: restore the previous markers
    customer    find or create the accounting customer           undo: archive it, only if we created it
    invoice     create the invoice (Idempotency-Key)             undo: void or delete it, if present
    write_back  deal markers → synced with the invoice           undo: back to the claimed markers
    email       (SEND_INVOICE_EMAIL) Xero e-mails the invoice     forward-only: never undone; a failure
                                                                  leaves the deal invoiced, with a note
"""

from __future__ import annotations

from typing import Any

from shared import names
from shared.domain.invoice_mapping import reference_for
from shared.domain.models import SyncMarkers
from shared.saga.engine import Saga, Step
from shared.saga.outcome import SagaState
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
    dump,
)
from shared.sync.policy import SagaPolicy

JsonDict = dict[str, Any]
MAX_NOTE = 300  # the CRM shows the error marker in a list; one readable line


def _load(st: SagaState) -> LoadDealResult:
    return LoadDealResult.model_validate(st.results["load"])


def _claimed(st: SagaState) -> SyncMarkers:
    return _load(st).previous.model_copy(update={"sync_status": "in_progress", "transaction_id": st.input["tx_id"]})


def load_input(st: SagaState) -> JsonDict:
    return dump(LoadDealInput(tx_id=st.input["tx_id"], deal_id=st.input["deal_id"], today=st.input["today"],
                              round=st.input.get("round", 0)))


def claim_input(st: SagaState) -> JsonDict:
    return dump(MarkersInput(deal_id=st.input["deal_id"], values=_claimed(st)))


def rollback_note(st: SagaState) -> str:
    """The deal's error marker after a rollback: one line saying at which step and why."""
    failure = st.failure
    if failure is None:
        return "Not invoiced: the sync was rolled back by a person"
    step = failure.step or "a step"
    text = " ".join(f"Not invoiced, rolled back at {step}: {failure.message or failure.code}".split())
    return text if len(text) <= MAX_NOTE else text[: MAX_NOTE - 1] + "…"


def claim_undo_input(st: SagaState) -> JsonDict:
    # The deal goes back to its markers before the claim, with one line saying why nothing was invoiced.
    values = _load(st).previous.model_copy(update={"last_error": rollback_note(st)})
    return dump(MarkersInput(deal_id=st.input["deal_id"], values=values, undo=True))


def customer_input(st: SagaState) -> JsonDict:
    load = _load(st)
    return dump(EnsureCustomerInput(tx_id=st.input["tx_id"], round=st.input["round"], company_id=load.company_id,
                                    contact_ids=load.deal.contact_ids, existing=load.existing_customer,
                                    company=load.company, first_contact=load.first_contact))


def customer_undo_input(st: SagaState) -> JsonDict:
    load = _load(st)
    raw = st.results.get("customer")
    done = EnsureCustomerResult.model_validate(raw) if raw else None
    # After a person's retry, the load sees the customer an earlier round of this transaction created
    # as "existing": that round's result says whose it is, and the undo must still archive it.
    earlier = [EnsureCustomerResult.model_validate(raw) for raw in st.earlier_results.get("customer", []) if raw]
    ours = next((r for r in earlier if r.created), None)
    existed = (ours is None and load.existing_customer is not None
               and load.existing_customer.status != "ARCHIVED")
    customer_id = done.customer.id if done else (ours.customer.id if ours else None)
    created = True if ours is not None else (done.created if done else None)
    return dump(ArchiveCustomerInput(company_id=load.company_id, existed_before=existed,
                                     customer_id=customer_id, created=created,
                                     reference=reference_for(st.input["deal_id"])))


def invoice_input(st: SagaState) -> JsonDict:
    load = _load(st)
    customer = EnsureCustomerResult.model_validate(st.results["customer"])
    return dump(CreateInvoiceInput(tx_id=st.input["tx_id"], round=st.input["round"], deal=load.deal,
                                   line_items=load.line_items, customer_id=customer.customer.id,
                                   today=st.input["today"], after_stranded=bool(st.input.get("after_stranded"))))


def invoice_undo_input(st: SagaState) -> JsonDict:
    raw = st.results.get("invoice")
    done = CreateInvoiceResult.model_validate(raw) if raw else None
    return dump(UndoInvoiceInput(reference=reference_for(st.input["deal_id"]),
                                 invoice_id=done.invoice.id if done else None))


def write_back_input(st: SagaState) -> JsonDict:
    invoice = CreateInvoiceResult.model_validate(st.results["invoice"]).invoice
    values = SyncMarkers(sync_status="synced", transaction_id=st.input["tx_id"], invoice_id=invoice.id,
                         invoice_number=invoice.number, invoice_url=invoice.url, last_error="")
    return dump(MarkersInput(deal_id=st.input["deal_id"], values=values))


def write_back_undo_input(st: SagaState) -> JsonDict:
    return dump(MarkersInput(deal_id=st.input["deal_id"], values=_claimed(st), undo=True))


def email_input(st: SagaState) -> JsonDict:
    invoice = CreateInvoiceResult.model_validate(st.results["invoice"]).invoice
    return dump(SendEmailInput(tx_id=st.input["tx_id"], invoice_id=invoice.id))


def build_deal_saga(policy: SagaPolicy) -> Saga[SagaState]:
    email: tuple[Step[SagaState], ...] = ()
    if policy.send_invoice_email:
        email = (Step("email", names.SEND_INVOICE_EMAIL, email_input, forward_only=True),)
    return Saga(
        steps=(
            Step("load", names.LOAD_DEAL, load_input),
            Step("claim", names.WRITE_MARKERS, claim_input, names.WRITE_MARKERS, claim_undo_input),
            Step("customer", names.ENSURE_CUSTOMER, customer_input, names.ARCHIVE_CUSTOMER, customer_undo_input),
            Step("invoice", names.CREATE_INVOICE, invoice_input, names.UNDO_INVOICE, invoice_undo_input),
            Step("write_back", names.WRITE_MARKERS, write_back_input, names.WRITE_MARKERS, write_back_undo_input),
            *email,
        ),
        retry=policy.step_retry(),
        compensation_retry=policy.compensation_retry(),
    )
