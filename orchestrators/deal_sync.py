"""The ``deal_sync`` orchestrator: one deal, one invoice, exactly once, or both systems put back.

Replay-safe by construction: time only from ``ctx.current_utc_datetime``, waits only as durable
timers and external events, ids derived from the instance id. The instance id *is* the
transaction id (``deal-<id>[-g<n>]``), so duplicate starts meet in one run.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.tracking import Tracker
from shared import names
from shared.saga.engine import Saga, run_compensations, run_saga
from shared.saga.outcome import SagaOutcome, outcome_of
from shared.sync.deal_saga import DealSagaInput, DealSagaState, build_deal_saga
from shared.sync.policy import DealSyncInput

HALT_STATUS = {"already_synced": "already_synced", "skipped": "skipped"}
Outcome = SagaOutcome[DealSagaState]


def _finish_command(outcome: Outcome) -> dict[str, Any]:
    status = HALT_STATUS.get(outcome.halt or "", "skipped") if outcome.status == "halted" else outcome.status
    return {
        "op": "finish",
        "status": status,
        "reason": outcome.reason.model_dump(mode="json", exclude_none=True) if outcome.reason else None,
        "failed_step": outcome.failed_step or "",
        "pending_compensations": [
            c.model_dump(mode="json", exclude_none=True) for c in outcome.state.compensations if c.status == "failed"
        ],
    }


def _wait_for_person(ctx: Orchestration, current_round: int) -> Generator[Any, Any, str]:
    # This round's event names only: a click meant for an earlier round can never decide this one.
    retry = ctx.wait_for_external_event(names.manual_event(names.EVENT_RETRY, current_round))
    compensate = ctx.wait_for_external_event(names.manual_event(names.EVENT_COMPENSATE, current_round))
    winner = yield ctx.task_any([retry, compensate])
    return names.EVENT_RETRY if winner is retry else names.EVENT_COMPENSATE


def _compensate_now(ctx: Orchestration, saga: Saga[DealSagaState], state: DealSagaState, previous: Outcome,
                    tracker: Tracker) -> Generator[Any, Any, Outcome]:
    yield from run_compensations(ctx, saga, state, observer=tracker.observe)
    status = "needs_attention" if any(c.status == "failed" for c in state.compensations) else "compensated"
    return outcome_of(state, status=status, reason=previous.reason, failed_step=previous.failed_step)


def deal_sync(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    request = DealSyncInput.model_validate(ctx.get_input())
    tx_id = ctx.instance_id
    saga = build_deal_saga(request.policy)
    tracker = Tracker(ctx, tx_id)
    state = DealSagaState(input=DealSagaInput(tx_id=tx_id, deal_id=request.deal_id,
                                              today=ctx.current_utc_datetime.date(),
                                              after_stranded=request.after_stranded))
    yield from tracker.command({"op": "start", "id": tx_id, "deal_id": request.deal_id,
                                "generation": request.generation, "trigger": request.trigger})
    deadline = ctx.current_utc_datetime + timedelta(minutes=request.policy.deadline_minutes)
    outcome = yield from run_saga(ctx, saga, state, deadline=deadline, observer=tracker.observe)
    while True:
        yield from tracker.command(_finish_command(outcome))
        if outcome.status != "needs_attention":
            break
        # A person decides: finish the rollback once the cause is fixed, or go forward again.
        action = yield from _wait_for_person(ctx, tracker.state.round if tracker.state else 0)
        yield from tracker.command({"op": "manual", "action": action})
        if action == names.EVENT_COMPENSATE:
            outcome = yield from _compensate_now(ctx, saga, state, outcome, tracker)
        else:
            # Forward again from the first step: every step is idempotent, so what is still in
            # place is found and kept, and data a person fixed in the CRM is read afresh.
            state.input.round += 1
            state.input.today = ctx.current_utc_datetime.date()
            deadline = ctx.current_utc_datetime + timedelta(minutes=request.policy.deadline_minutes)
            outcome = yield from run_saga(ctx, saga, state, deadline=deadline, observer=tracker.observe)
    final = tracker.state
    assert final is not None
    return {
        "transaction_id": tx_id,
        "deal_id": request.deal_id,
        "status": final.status,
        "invoice_id": final.external_ids.get("invoice", ""),
        "invoice_number": final.external_ids.get("invoice_number", ""),
        "failed_step": final.failed_step,
        "reason": final.reason,
    }
