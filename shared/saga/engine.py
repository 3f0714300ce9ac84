"""Runs a saga inside an orchestrator: steps forward with retries, registered undos in reverse on failure.

Used with ``yield from`` so that every durable task goes out through the orchestrator function,
exactly as Durable Functions requires. Everything here is deterministic under replay: time comes
only from ``ctx.current_utc_datetime``, waits are durable timers (``shared.saga.retry``), and no I/O
happens here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.saga.outcome import (
    CompensationRecord,
    EventType,
    SagaEvent,
    SagaOutcome,
    SagaProgress,
    StepError,
    outcome_of,
)
from shared.saga.policy import RetryPolicy
from shared.saga.retry import MAX_PACED_RETRIES, Attempt, CallContext, Phase, Report, call_with_retries

JsonDict = dict[str, Any]

DurableContext = CallContext  # the part of ``DurableOrchestrationContext`` the engine uses

SagaObserver = Callable[[SagaEvent], Iterator[Any]]
"""Called at each event; a generator whose yielded durable tasks run before the saga goes on."""

__all__ = ["MAX_PACED_RETRIES", "DurableContext", "Saga", "SagaObserver", "Step", "run_compensations", "run_saga"]


def _no_observer(_event: SagaEvent) -> Iterator[Any]:
    return iter(())


@dataclass(frozen=True)
class Step[S: SagaProgress]:
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
    build_input: Callable[[S], JsonDict]
    compensation: str | None = None
    build_compensation_input: Callable[[S], JsonDict] | None = None
    retry: RetryPolicy | None = None  # None: the saga's
    forward_only: bool = False
    compensation_retry: RetryPolicy | None = None  # None: the saga's
    attempt: Attempt | None = None  # None: each forward attempt calls the activity (else: a batched attempt)
    compensation_attempt: Attempt | None = None  # the same for the undo's attempts


@dataclass(frozen=True)
class Saga[S: SagaProgress]:
    """An ordered list of steps with the retry policies of steps and of undos that name none of their own."""

    steps: tuple[Step[S], ...]
    retry: RetryPolicy
    compensation_retry: RetryPolicy

    def __post_init__(self) -> None:
        # A step that cannot be undone runs only once every undoable step has succeeded.
        seen_forward_only = False
        for s in self.steps:
            if s.forward_only and s.compensation:
                raise ValueError(f"step {s.name!r} is forward-only and cannot have an undo")
            if s.compensation and seen_forward_only:
                raise ValueError(f"step {s.name!r} has an undo but comes after a forward-only step")
            seen_forward_only = seen_forward_only or s.forward_only

    def step(self, name: str) -> Step[S]:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"saga has no step named {name!r}")


STEP_EVENTS: dict[Phase, EventType] = {"started": "step_started", "succeeded": "step_succeeded",
                                       "retrying": "step_retrying", "failed": "step_failed"}
FORWARD_ONLY_EVENTS: dict[Phase, EventType] = {**STEP_EVENTS, "failed": "step_abandoned"}
UNDO_EVENTS: dict[Phase, EventType] = {"started": "compensation_started", "succeeded": "compensation_succeeded",
                                       "retrying": "compensation_retrying", "failed": "compensation_failed"}


def _reporter(ctx: DurableContext, observer: SagaObserver, step: str, events: dict[Phase, EventType]) -> Report:
    """The retry loop's phases as the saga's events (``step_*`` or ``compensation_*``)."""

    def report(phase: Phase, attempt: int, error: StepError | None, delay: float | None, result: Any) -> Iterator[Any]:
        type_ = events[phase]
        fields: dict[str, Any] = {"attempt": attempt}
        if phase == "succeeded":
            fields["result"] = result
        elif phase == "retrying":
            fields.update(delay_seconds=delay, error=error)
        elif phase == "failed":
            fields["error"] = error
        return observer(SagaEvent(type=type_, step=step, at=ctx.current_utc_datetime.isoformat(), **fields))

    return report


def run_saga[S: SagaProgress](
    ctx: DurableContext,
    saga: Saga[S],
    state: S,
    *,
    deadline: datetime | None = None,
    observer: SagaObserver = _no_observer,
) -> Generator[Any, Any, SagaOutcome[S]]:
    """Run every step in order; on a failure, run every registered undo in reverse."""
    for step in saga.steps:
        if step.compensation:
            _register(state, step)
        # A forward-only step that fails for good is abandoned, not failed: nothing is rolled back for it.
        events = FORWARD_ONLY_EVENTS if step.forward_only else STEP_EVENTS
        called = yield from call_with_retries(
            ctx, step.activity, step.build_input(state), step.retry or saga.retry, label=step.name,
            deadline=deadline, report=_reporter(ctx, observer, step.name, events), attempt_with=step.attempt)
        state.attempts[step.name] = state.attempts.get(step.name, 0) + called.tries
        if deadline is not None:
            # A wait for a quota reset is the quota's, not the saga's: the deadline moves by as much.
            deadline += timedelta(seconds=called.quota_wait)
        if called.ok:
            state.keep_result(step.name, called.result, halted=called.halt is not None)
            state.abandoned.pop(step.name, None)
            if step.name not in state.completed_steps:
                state.completed_steps.append(step.name)
            if called.halt is not None:
                return outcome_of(state, status="halted", halt=called.halt)
            continue
        assert called.error is not None
        if step.forward_only:
            # Nothing after it can be undone either, and what came before stands: the saga goes on.
            state.abandoned[step.name] = called.error
            continue
        state.failure = called.error
        yield from run_compensations(ctx, saga, state, observer=observer)
        status = "needs_attention" if any(c.status == "failed" for c in state.compensations) else "compensated"
        return outcome_of(state, status=status, reason=called.error, failed_step=step.name)
    return outcome_of(state, status="completed")


def _register[S: SagaProgress](state: S, step: Step[S]) -> None:
    # Registered before the step runs: a step that times out after its side effect must still be undone.
    assert step.compensation is not None
    for record in state.compensations:
        if record.step == step.name:
            # A manual retry re-runs the step; its undo is owed again. Its result from the earlier round
            # no longer describes what the step will have done: an undo built from it would undo the old
            # object (e.g. an invoice already voided) and miss the new one, so it moves aside.
            record.status, record.attempts, record.error, record.result = "pending", 0, None, None
            state.set_aside(step.name)
            return
    state.compensations.append(CompensationRecord(step=step.name, activity=step.compensation))


def run_compensations[S: SagaProgress](
    ctx: DurableContext,
    saga: Saga[S],
    state: S,
    *,
    observer: SagaObserver = _no_observer,
) -> Generator[Any, Any, list[CompensationRecord]]:
    """Run every undo that is not done yet, newest first; one that fails for good does not stop the rest.

    Undos have no deadline: a rollback left half-way is worse than a late one.
    """
    for record in reversed(state.compensations):
        if record.status == "done":
            continue
        step = saga.step(record.step)
        record.input = step.build_compensation_input(state) if step.build_compensation_input else {}
        record.error = None
        called = yield from call_with_retries(
            ctx, record.activity, record.input, step.compensation_retry or saga.compensation_retry,
            label=record.step, report=_reporter(ctx, observer, record.step, UNDO_EVENTS),
            attempt_with=_numbered_after(step.compensation_attempt, record.attempts))
        record.attempts += called.tries
        if called.ok:
            record.status, record.result = "done", called.result
        else:
            record.status, record.error = "failed", called.error
    return state.compensations


def _numbered_after(attempt_with: Attempt | None, earlier: int) -> Attempt | None:
    """A person's Compensate runs an undo again in the same round: its attempts are numbered on from the
    earlier ones, so that a batched undo's names (one event per attempt) are never used twice in a history."""
    if attempt_with is None or earlier == 0:
        return attempt_with
    inner = attempt_with

    def shifted(ctx: Any, activity: str, payload: Any, envelope: bool, attempt: int) -> Generator[Any, Any, JsonDict]:
        return inner(ctx, activity, payload, envelope, attempt + earlier)

    return shifted
