"""The deal-to-invoice saga, as one table: each step's activity and undo, how their inputs are built, and retries.

    load        read the deal, its line items and the accounting customer (nothing to undo)
    claim       deal markers → in_progress by this transaction   undo: restore the previous markers
    customer    find or create the accounting customer           undo: archive it, only if we created it
    invoice     create the invoice (Idempotency-Key)             undo: void or delete it, if present
    write_back  deal markers → synced with the invoice           undo: back to the claimed markers
    email       (SEND_INVOICE_EMAIL) Xero e-mails the invoice     forward-only: never undone; a failure
                                                                  leaves the deal invoiced, with a note

``batch=`` marks a step whose forward attempts go through the organisation's batch (BATCHED_STEPS):
many deals per vendor call, each deal still waiting for its own result (docs/batched-steps.md);
``undo_batch=`` its undo's attempts.

Each undo is registered before its step runs. The activities' names are a wire contract (an in-flight
orchestration's history records them): they change only with a migration plan, as in ``shared/names.py``.
The activities registered with the Functions app (``activities/blueprint.py``) and the wiring test are
derived from ``ACTIVITIES``; the engine's steps from ``STEPS`` (``build_deal_saga``).
"""

from __future__ import annotations

from typing import Any

from shared.saga.engine import Saga
from shared.sync import steps
from shared.sync.invoice_email import SendEmailInput, SendEmailResult, send_invoice_email
from shared.sync.messages import (
    ArchiveCustomerInput,
    ArchiveCustomerResult,
    CreateInvoiceInput,
    CreateInvoiceResult,
    EnsureCustomerInput,
    EnsureCustomerResult,
    LoadDealInput,
    LoadDealResult,
    MarkersInput,
    MarkersResult,
    UndoInvoiceInput,
    UndoInvoiceResult,
)
from shared.sync.policy import SagaPolicy
from shared.sync.saga_state import DealSagaInput, DealSagaState
from shared.sync.step_inputs import (
    claim_input,
    claim_undo_input,
    customer_input,
    customer_undo_input,
    email_input,
    invoice_input,
    invoice_undo_input,
    load_input,
    rollback_note,
    write_back_input,
    write_back_undo_input,
)
from shared.sync.step_table import Action, Activity, SagaStep, activities_of, check_table

# --- the activities: name (wire contract), input and result models, handler ---
LOAD_DEAL = Activity("load_deal", LoadDealInput, LoadDealResult, lambda r, p: steps.load_deal(
    r, p.crm, p.accounting, p.rules, p.trigger_stage, p.org, p.customers))
WRITE_MARKERS = Activity("write_deal_markers", MarkersInput, MarkersResult, lambda r, p: steps.write_markers(r, p.crm))
ENSURE_CUSTOMER = Activity("ensure_customer", EnsureCustomerInput, EnsureCustomerResult,
                           lambda r, p: steps.ensure_customer(r, p.crm, p.accounting, p.rules,
                                                                              p.customers))
ARCHIVE_CUSTOMER = Activity("archive_customer_if_created", ArchiveCustomerInput, ArchiveCustomerResult,
                            lambda r, p: steps.archive_customer_if_created(r, p.accounting))
CREATE_INVOICE = Activity("create_invoice", CreateInvoiceInput, CreateInvoiceResult,
                          lambda r, p: steps.create_invoice(r, p.accounting, p.rules, p.org))
UNDO_INVOICE = Activity("undo_invoice_if_present", UndoInvoiceInput, UndoInvoiceResult,
                        lambda r, p: steps.undo_invoice_if_present(r, p.accounting))
SEND_INVOICE_EMAIL = Activity("send_invoice_email", SendEmailInput, SendEmailResult,
                              lambda r, p: send_invoice_email(r, p.invoice_mailer()))

STEP, UNDO = SagaPolicy.step_retry, SagaPolicy.compensation_retry

# --- the steps, in order: forward action, undo, retries ---
STEPS: tuple[SagaStep[DealSagaState], ...] = (
    SagaStep("load", Action(LOAD_DEAL, load_input), None, retry=STEP, batch="load"),
    SagaStep("claim", Action(WRITE_MARKERS, claim_input), Action(WRITE_MARKERS, claim_undo_input),
             retry=STEP, undo_retry=UNDO, batch="markers", undo_batch="markers"),
    SagaStep("customer", Action(ENSURE_CUSTOMER, customer_input), Action(ARCHIVE_CUSTOMER, customer_undo_input),
             retry=STEP, undo_retry=UNDO, batch="customer", undo_batch="archive"),
    SagaStep("invoice", Action(CREATE_INVOICE, invoice_input), Action(UNDO_INVOICE, invoice_undo_input),
             retry=STEP, undo_retry=UNDO, batch="invoice", undo_batch="void"),
    SagaStep("write_back", Action(WRITE_MARKERS, write_back_input), Action(WRITE_MARKERS, write_back_undo_input),
             retry=STEP, undo_retry=UNDO, batch="markers", undo_batch="markers"),
    SagaStep("email", Action(SEND_INVOICE_EMAIL, email_input), None, retry=STEP, forward_only=True,
             enabled=lambda policy: policy.send_invoice_email),
)
check_table(STEPS, DealSagaState)  # at import: a step whose result has no typed home fails every test at once

ACTIVITIES: dict[str, Activity[Any, Any]] = activities_of(STEPS)


def build_deal_saga(policy: SagaPolicy) -> Saga[DealSagaState]:
    return Saga(steps=tuple(s.engine_step(policy) for s in STEPS if s.enabled(policy)),
                retry=policy.step_retry(), compensation_retry=policy.compensation_retry())


__all__ = ["ACTIVITIES", "STEPS", "DealSagaInput", "DealSagaState", "build_deal_saga", "rollback_note"]
