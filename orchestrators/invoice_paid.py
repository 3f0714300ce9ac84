"""The ``invoice_paid`` orchestrator: one invoice event from accounting, written back to its deal with retries.

Started by a ``paid_invoice_batch`` (``read_by``), it waits for the invoice that batch read for it with
the delivery's other invoices, rather than reading it alone.

Paid: the deal is marked paid. Voided or deleted by hand: the deal says so, and its transaction records
that its invoice is gone (so that a person's Retry invoices the deal again), in its entity and ledger row.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from shared import names
from shared.saga.engine import Saga, Step, run_saga
from shared.saga.outcome import SagaState
from shared.sync.policy import LEDGER_RETRY, MARK_PAID_RETRY

GONE_OUTCOMES = frozenset({"invoice_voided", "invoice_deleted"})
# How long a run started by a ``paid_invoice_batch`` waits for the invoice the batch reads for it (with
# others, in one call) before it reads the invoice itself: longer than the batch's read with its retries.
READ_WAIT = timedelta(minutes=30)
# Re-reads of the invoice one run makes for events that came while it ran; more wait for the next event.
MAX_RECHECKS = 20


def invoice_paid(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    request = ctx.get_input() or {}
    # A one-step saga: the engine brings Retry-After-aware retries; there is nothing to undo.
    saga: Saga[SagaState] = Saga(
        steps=(Step("mark_paid", names.MARK_DEAL_PAID, lambda st: dict(st.input)),),
        retry=MARK_PAID_RETRY, compensation_retry=MARK_PAID_RETRY)
    invoice_id = str(request.get("invoice_id", ""))
    first: dict[str, Any] = {"invoice_id": invoice_id}
    if request.get("read_by"):
        first = yield from _invoice_read_for_it(ctx, invoice_id, str(request["read_by"]))
    # A retry of this first write-back uses the same read: a change after it is an event, hence a recheck.
    outcome = yield from run_saga(ctx, saga, SagaState(input=first))
    for _ in range(MAX_RECHECKS):
        # Another event for this invoice may have come while the invoice was read and written back (its
        # starter sends "recheck" rather than a second run): events wait in the history until asked for,
        # so a timer due now decides, deterministically on replay, whether one came.
        recheck = ctx.wait_for_external_event(names.EVENT_RECHECK)
        winner = yield ctx.task_any([recheck, ctx.create_timer(ctx.current_utc_datetime)])
        if winner is not recheck:
            break
        outcome = yield from run_saga(ctx, saga, SagaState(input={"invoice_id": invoice_id}))
    result = outcome.state.results.get("mark_paid") or {}
    if result.get("outcome") in GONE_OUTCOMES and result.get("transaction_id"):
        yield from _record_invoice_gone(ctx, invoice_id, result)
    return {"status": outcome.status, **result, **({"reason": outcome.reason.message} if outcome.reason else {})}


def _invoice_read_for_it(ctx: Orchestration, invoice_id: str, batch_id: str) -> Generator[Any, Any, dict[str, Any]]:
    """The write-back's input: the invoice its batch read for it, or (no word in time, or the batch's read
    failed) just the id, so that the activity reads the invoice itself."""
    read = ctx.wait_for_external_event(names.invoice_read_event(batch_id))
    # The timer is due at a time computed from the replay-safe clock, so replays decide the same way.
    timeout = ctx.create_timer(ctx.current_utc_datetime + READ_WAIT)
    winner = yield ctx.task_any([read, timeout])
    if winner is not read:
        return {"invoice_id": invoice_id}
    timeout.cancel()  # or the run would stay Running until the timer fired
    data = read.result if isinstance(read.result, dict) else {}
    if not data.get("read"):
        return {"invoice_id": invoice_id}
    return {"invoice_id": invoice_id, "read": True, "invoice": data.get("invoice")}


def _record_invoice_gone(ctx: Orchestration, invoice_id: str, result: dict[str, Any]) -> Generator[Any, Any]:
    tx_id = str(result["transaction_id"])
    command = {"op": "invoice_gone", "at": ctx.current_utc_datetime.isoformat(),
               "invoice_id": invoice_id, "invoice_status": str(result.get("invoice_status", "")),
               "message": str(result.get("message", ""))}
    # A call, not a signal: the state read next must include it. A refused change (the transaction is not
    # the one that made this invoice) leaves the entity as it was and is not projected.
    answer = yield ctx.call_entity(names.SYNC_TRANSACTION, tx_id, "apply", command)
    if isinstance(answer, dict) and answer.get("error"):
        return
    state = yield ctx.call_entity(names.SYNC_TRANSACTION, tx_id, "get")
    if isinstance(state, dict):
        yield from call_with_retry(ctx, names.RECORD_TRANSACTION, state, LEDGER_RETRY)

