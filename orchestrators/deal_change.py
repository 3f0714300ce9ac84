"""The ``deal_change`` orchestrator: one life event of an invoiced deal (changed, lost, deleted), as a transaction.

Read and decide first, without a trace: nothing to do (a redelivered event, an amount changed back, a deal
this app never invoiced) ends here with no transaction. Otherwise the transaction (kind ``invoice_update`` or
``invoice_void``) starts, the decision is applied with retries, and it ends ``completed`` (the invoice was
updated or voided) or ``needs_attention`` (flagged for a person: the reason says what differs and why).

Replay-safe: time only from ``ctx.current_utc_datetime``, waits only as durable timers, ids from the instance id.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.tracking import Tracker
from shared import names
from shared.saga.engine import Saga, Step, run_saga
from shared.saga.outcome import SagaOutcome, SagaState
from shared.sync.life_events import ApplyInput, DealChangeInput, LifeDecision, LifeEventInput, LifeResult
from shared.sync.messages import dump


def _one_step(name: str, activity: str, payload: dict[str, Any], request: DealChangeInput) -> Saga[SagaState]:
    # Nothing to undo: a life event is applied, or flagged for a person.
    return Saga(steps=(Step(name, activity, lambda _st: payload),), retry=request.policy.step_retry(),
                compensation_retry=request.policy.compensation_retry())


def deal_change(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    request = DealChangeInput.model_validate(ctx.get_input())
    tx_id = ctx.instance_id
    deadline = ctx.current_utc_datetime + timedelta(minutes=request.policy.deadline_minutes)
    read_input = LifeEventInput(tx_id=tx_id, deal_id=request.deal_id, event=request.event,
                                today=ctx.current_utc_datetime.date(), on_changed=request.on_changed,
                                on_lost=request.on_lost)
    read = SagaState(input={})
    outcome = yield from run_saga(ctx, _one_step("read", names.READ_LIFE_EVENT, dump(read_input), request), read,
                                  deadline=deadline)
    found = read.results.get("read") or {}
    if outcome.status == "halted":
        return {"transaction_id": "", "instance_id": tx_id, "deal_id": request.deal_id, "status": "no_op",
                "reason": str(found.get("reason", ""))}
    tracker = Tracker(ctx, tx_id)
    kind = "invoice_update" if request.event == "changed" else "invoice_void"
    decision = LifeDecision.model_validate(found) if outcome.status == "completed" else None
    yield from tracker.command({"op": "start", "id": tx_id, "deal_id": request.deal_id, "trigger": request.trigger,
                                "kind": decision.kind if decision else kind})
    if decision is None:
        # The read itself failed for good (the CRM or accounting refused): a person looks.
        yield from _finish(tracker, "needs_attention", outcome)
        return _output(tx_id, request, tracker)
    at = ctx.current_utc_datetime.isoformat()
    shown = {"deal_name": decision.deal_name, "amount": decision.amount, "currency": decision.currency,
             "external_ids": {k: v for k, v in {"deal": request.deal_id, "invoice": decision.invoice_id,
                                                "invoice_number": decision.invoice_number}.items() if v}}
    yield from tracker.command({"op": "events", "events": [
        {"type": "step_started", "step": "read", "at": at, "attempt": 1},
        {"type": "step_succeeded", "step": "read", "at": at, "attempt": 1, "result": shown}]})
    apply_input = ApplyInput(tx_id=tx_id, deal_id=request.deal_id, decision=decision)
    applied = SagaState(input={})
    outcome = yield from run_saga(ctx, _one_step(decision.action, names.APPLY_LIFE_EVENT, dump(apply_input),
                                                 request), applied, deadline=deadline, observer=tracker.observe)
    if outcome.status != "completed":
        yield from _finish(tracker, "needs_attention", outcome)
        return _output(tx_id, request, tracker)
    result = LifeResult.model_validate(applied.results[decision.action])
    if result.outcome == "flagged":
        reason = {"kind": "business", "service": "sync", "code": result.code or "flagged", "message": result.message}
        yield from tracker.command({"op": "finish", "status": "needs_attention", "reason": reason})
    else:
        yield from tracker.command({"op": "finish", "status": "completed"})
    return {**_output(tx_id, request, tracker), "outcome": result.outcome, "message": result.message}


def _finish(tracker: Tracker, status: str, outcome: SagaOutcome[SagaState]) -> Generator[Any, Any]:
    reason = outcome.reason.model_dump(mode="json", exclude_none=True) if outcome.reason else None
    yield from tracker.command({"op": "finish", "status": status, "reason": reason,
                                "failed_step": outcome.failed_step or ""})


def _output(tx_id: str, request: DealChangeInput, tracker: Tracker) -> dict[str, Any]:
    final = tracker.state
    assert final is not None
    return {"transaction_id": tx_id, "instance_id": tx_id, "deal_id": request.deal_id, "status": final.status,
            "kind": final.kind, "invoice_id": final.external_ids.get("invoice", ""), "reason": final.reason}
