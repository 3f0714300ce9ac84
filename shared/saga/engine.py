"""Runs a saga inside an orchestrator: steps forward with retries, registered undos in reverse on failure.

Used with ``yield from`` so that every durable task goes out through the orchestrator function,
exactly as Durable Functions requires. Everything here is deterministic under replay: time comes
only from ``ctx.current_utc_datetime``, waits are durable timers, and no I/O happens here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.saga.envelope import decode_failure
from shared.saga.outcome import (
    CompensationRecord,
    EventType,
    SagaEvent,
    SagaOutcome,
    SagaState,
    StepError,
)
from shared.saga.policy import RetryPolicy

JsonDict = dict[str, Any]
SagaGen = Generator[Any, Any, SagaOutcome]


class DurableContext(Protocol):
    """The part of ``DurableOrchestrationContext`` the engine uses."""

    @property
    def current_utc_datetime(self) -> datetime: ...

    def call_activity(self, name: str, input_: Any = None) -> Any: ...

    def create_timer(self, fire_at: datetime) -> Any: ...


SagaObserver = Callable[[SagaEvent], Iterator[Any]]
"""Called at each event; a generator whose yielded durable tasks run before the saga goes on."""


def _no_observer(_event: SagaEvent) -> Iterator[Any]:
    return iter(())


@dataclass(frozen=True)
class Step:
    """One forward action and its optional undo.

    ``build_input`` and ``build_compensation_input`` read the saga state (the saga's input and the
    results of earlier steps; for the undo also this step's own result when it has one), so that
    later steps can use what earlier ones produced. The undo must be idempotent and "if present":
    it is registered before the step runs, so it also runs when the step failed half-way or was
    never confirmed.

    A ``forward_only`` step cannot be undone (an e-mail sent): it has no undo, comes after every step
    that has one, and is retried forward like any step; if it fails for good nothing is rolled back:
    the saga completes, with the failure kept in ``state.abandoned`` (event ``step_abandoned``).
    """

    name: str
    activity: str
    build_input: Callable[[SagaState], JsonDict]
    compensation: str | None = None
    build_compensation_input: Callable[[SagaState], JsonDict] | None = None
    retry: RetryPolicy | None = None
    forward_only: bool = False


@dataclass(frozen=True)
class Saga:
    """An ordered list of steps with the default retry policies for steps and for undos."""

    steps: tuple[Step, ...]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    compensation_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=10))

    def __post_init__(self) -> None:
        # A step that cannot be undone runs only once every undoable step has succeeded.
        seen_forward_only = False
        for s in self.steps:
            if s.forward_only and s.compensation:
                raise ValueError(f"step {s.name!r} is forward-only and cannot have an undo")
            if s.compensation and seen_forward_only:
                raise ValueError(f"step {s.name!r} has an undo but comes after a forward-only step")
            seen_forward_only = seen_forward_only or s.forward_only

    def step(self, name: str) -> Step:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"saga has no step named {name!r}")

    def index_of(self, name: str) -> int:
        return [s.name for s in self.steps].index(name)


def _event(ctx: DurableContext, type_: EventType, step: str, **kw: Any) -> SagaEvent:
    return SagaEvent(type=type_, step=step, at=ctx.current_utc_datetime.isoformat(), **kw)


def _error(raw: JsonDict, step: str, attempt: int) -> StepError:
    data = {k: v for k, v in raw.items() if k not in ("step", "attempts")}
    data.setdefault("kind", "transient")
    return StepError(**data, step=step, attempts=attempt)


def _call(ctx: DurableContext, activity: str, payload: JsonDict) -> Generator[Any, Any, JsonDict]:
    """One activity attempt, normalised to ``{"ok": ...}`` whether it returned or raised."""
    try:
        reply = yield ctx.call_activity(activity, payload)
    except Exception as exc:  # the SDK surfaces every activity failure as a bare Exception
        return {"ok": False, "error": decode_failure(str(exc))}
    if isinstance(reply, dict) and "ok" in reply:
        return reply
    return {"ok": True, "result": reply}


def run_saga(
    ctx: DurableContext,
    saga: Saga,
    state: SagaState,
    *,
    start_at: int = 0,
    deadline: datetime | None = None,
    observer: SagaObserver = _no_observer,
) -> SagaGen:
    """Run the steps from ``start_at``; on a failure, run every registered undo in reverse."""
    for step in saga.steps[start_at:]:
        if step.compensation:
            _register(state, step)
        reply = yield from _forward(ctx, saga, step, state, deadline, observer)
        if deadline is not None:
            deadline += timedelta(seconds=float(reply.pop("quota_wait_s", 0.0)))
        if reply["ok"]:
            state.results[step.name] = reply.get("result")
            state.abandoned.pop(step.name, None)
            if step.name not in state.completed_steps:
                state.completed_steps.append(step.name)
            if reply.get("halt"):
                return SagaOutcome(status="halted", halt=str(reply["halt"]), state=state)
            continue
        reason: StepError = reply["error"]
        if step.forward_only:
            # Nothing after it can be undone either, and what came before stands: the saga goes on.
            state.abandoned[step.name] = reason
            continue
        state.failure = reason
        yield from run_compensations(ctx, saga, state, observer=observer)
        status = "needs_attention" if any(c.status == "failed" for c in state.compensations) else "compensated"
        return SagaOutcome(status=status, reason=reason, failed_step=step.name, state=state)
    return SagaOutcome(status="completed", state=state)


def _register(state: SagaState, step: Step) -> None:
    # Registered before the step runs: a step that times out after its side effect must still be undone.
    assert step.compensation is not None
    for record in state.compensations:
        if record.step == step.name:
            # A manual retry re-runs the step; its undo is owed again. Its result from the earlier round
            # no longer describes what the step will have done: an undo built from it would undo the old
            # object (e.g. an invoice already voided) and miss the new one, so it moves aside.
            record.status, record.attempts, record.error, record.result = "pending", 0, None, None
            if step.name in state.results:
                state.earlier_results.setdefault(step.name, []).append(state.results.pop(step.name))
            return
    state.compensations.append(CompensationRecord(step=step.name, activity=step.compensation))


# A 429 is the server pacing its callers, not the step failing: it does not use up the retry policy's
# attempts (under contention a healthy step could otherwise be rolled back for waiting its turn). The
# saga's deadline bounds such waits; without one (or for quota waits), this many paced retries give up.
MAX_PACED_RETRIES = 200


# Transient failures that are the vendor's service being away, not the step going wrong: like a 429 they
# use no attempts and only the deadline ends them (an identity service down for ten minutes must delay
# deals, not roll them back once six quick attempts are spent).
PACED_CODES = frozenset({"rate_limited", "quota_exhausted", "auth_unavailable", "xero_disconnected"})
# Waits for a person or a reset measured in hours: they do not count against the deadline either.
QUOTA_CODES = frozenset({"quota_exhausted", "xero_disconnected"})


def _paced(error: StepError) -> bool:
    return error.kind == "transient" and (error.status == 429 or error.code in PACED_CODES)


def _quota(error: StepError) -> bool:
    """A quota that resets after hours (Xero's daily limit): the wait is the quota's, not the step's.

    Waiting for the reset does not count against the saga's deadline: rolling back a healthy deal
    because the organisation ran out of calls for the day would leave a person to press Retry for
    each one, and its undo would need the same exhausted quota anyway. Keyed on the error code (set
    by the connector from ``X-Rate-Limit-Problem``), never on the wait's length, so that histories
    recorded before the code existed replay the same decisions. A disconnected Xero Web app waits the
    same way: for a person to reconnect, with nothing rolled back meanwhile.
    """
    return error.kind == "transient" and error.code in QUOTA_CODES


def _forward(
    ctx: DurableContext,
    saga: Saga,
    step: Step,
    state: SagaState,
    deadline: datetime | None,
    observer: SagaObserver,
) -> Generator[Any, Any, JsonDict]:
    policy = step.retry or saga.retry
    payload = step.build_input(state)
    attempt = 0
    spent = 0  # attempts that count against the policy (every failure but a 429)
    paced = 0
    quota_wait = 0.0  # seconds waited for a quota reset: the caller moves its deadline by as much
    failed: EventType = "step_abandoned" if step.forward_only else "step_failed"
    while True:
        attempt += 1
        state.attempts[step.name] = state.attempts.get(step.name, 0) + 1
        if deadline is not None and ctx.current_utc_datetime >= deadline:
            error = StepError(
                kind="permanent", code="deadline_exceeded", message="the saga's deadline passed",
                step=step.name, attempts=attempt - 1,
            )
            yield from observer(_event(ctx, failed, step.name, attempt=attempt - 1, error=error))
            return {"ok": False, "error": error, "quota_wait_s": quota_wait}
        yield from observer(_event(ctx, "step_started", step.name, attempt=attempt))
        reply = yield from _call(ctx, step.activity, payload)
        if reply["ok"]:
            yield from observer(
                _event(ctx, "step_succeeded", step.name, attempt=attempt, result=reply.get("result"))
            )
            return {**reply, "quota_wait_s": quota_wait}
        error = _error(reply["error"], step.name, attempt)
        if _paced(error):
            paced += 1
        else:
            spent += 1
        # Paced waits are bounded by the deadline, or by a count where nothing else bounds them: without
        # a deadline, and for quota waits (which move the deadline, so a quota that never resets would
        # otherwise keep the saga waiting for ever).
        bounded_by_deadline = deadline is not None and not _quota(error)
        retryable = (error.kind == "transient" and not policy.gives_up_after(spent)
                     and (bounded_by_deadline or paced <= MAX_PACED_RETRIES))
        if retryable:
            delay = policy.delay(attempt, error.retry_after)
            fire_at = ctx.current_utc_datetime + timedelta(seconds=delay)
            if deadline is not None and _quota(error):
                deadline += timedelta(seconds=delay)
                quota_wait += delay
            if deadline is None or fire_at < deadline:
                yield from observer(
                    _event(ctx, "step_retrying", step.name, attempt=attempt, delay_seconds=delay, error=error)
                )
                yield ctx.create_timer(fire_at)
                continue
        yield from observer(_event(ctx, failed, step.name, attempt=attempt, error=error))
        return {"ok": False, "error": error, "quota_wait_s": quota_wait}


def run_compensations(
    ctx: DurableContext,
    saga: Saga,
    state: SagaState,
    *,
    observer: SagaObserver = _no_observer,
) -> Generator[Any, Any, list[CompensationRecord]]:
    """Run every undo that is not done yet, newest first; one that fails for good does not stop the rest."""
    for record in reversed(state.compensations):
        if record.status == "done":
            continue
        step = saga.step(record.step)
        policy = saga.compensation_retry
        record.input = step.build_compensation_input(state) if step.build_compensation_input else {}
        record.error = None
        attempt = 0
        spent = paced = 0  # as in _forward: a 429 does not use up the attempts; undos have no deadline
        while True:
            attempt += 1
            record.attempts += 1
            yield from observer(_event(ctx, "compensation_started", record.step, attempt=attempt))
            reply = yield from _call(ctx, record.activity, record.input)
            if reply["ok"]:
                record.status, record.result = "done", reply.get("result")
                yield from observer(
                    _event(ctx, "compensation_succeeded", record.step, attempt=attempt, result=record.result)
                )
                break
            error = _error(reply["error"], record.step, attempt)
            if _paced(error):
                paced += 1
            else:
                spent += 1
            if error.kind == "transient" and not policy.gives_up_after(spent) and paced <= MAX_PACED_RETRIES:
                delay = policy.delay(attempt, error.retry_after)
                yield from observer(
                    _event(ctx, "compensation_retrying", record.step, attempt=attempt,
                           delay_seconds=delay, error=error)
                )
                yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=delay))
                continue
            record.status, record.error = "failed", error
            yield from observer(_event(ctx, "compensation_failed", record.step, attempt=attempt, error=error))
            break
    return state.compensations
