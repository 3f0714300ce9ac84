"""The saga's state, events and outcome as plain, versioned pydantic models (JSON across durable boundaries)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JsonDict = dict[str, Any]


class StepError(BaseModel):
    """An error as the failing API described it, attributed to a step."""

    model_config = ConfigDict(extra="allow")

    kind: str
    service: str = "sync"
    code: str = "error"
    message: str = ""
    status: int | None = None
    retry_after: float | None = None
    step: str | None = None
    attempts: int | None = None


CompensationStatus = Literal["pending", "done", "failed"]


class CompensationRecord(BaseModel):
    """One registered undo: what it undoes, how it went."""

    step: str
    activity: str
    input: JsonDict = Field(default_factory=dict)
    status: CompensationStatus = "pending"
    attempts: int = 0
    result: Any = None
    error: StepError | None = None


class SagaProgress(BaseModel):
    """The engine's bookkeeping of one saga, whatever its state holds: what ran, what is owed, what failed.

    A saga's own state subclasses it with its input and its steps' results, and says how a step's result
    is kept (``keep_result``) and set aside when a person's retry runs the step again (``set_aside``).
    """

    version: Literal[1] = 1
    completed_steps: list[str] = Field(default_factory=list)
    compensations: list[CompensationRecord] = Field(default_factory=list)
    attempts: dict[str, int] = Field(default_factory=dict)
    # Why the saga is being rolled back (set before the undos run, so that they can say it where people look).
    failure: StepError | None = None
    # Forward-only steps that failed for good (nothing was rolled back for them), by step name.
    abandoned: dict[str, StepError] = Field(default_factory=dict)

    def keep_result(self, step: str, result: Any, *, halted: bool) -> None:
        raise NotImplementedError

    def set_aside(self, step: str) -> None:
        raise NotImplementedError


class SagaState(SagaProgress):
    """A saga's state as plain JSON: its input and its steps' results by step name (one-step sagas, tests)."""

    input: JsonDict = Field(default_factory=dict)
    results: dict[str, Any] = Field(default_factory=dict)
    # A step's results from earlier rounds (before each of a person's retries ran it again), oldest first.
    earlier_results: dict[str, list[Any]] = Field(default_factory=dict)

    def keep_result(self, step: str, result: Any, *, halted: bool) -> None:
        self.results[step] = result

    def set_aside(self, step: str) -> None:
        if step in self.results:
            self.earlier_results.setdefault(step, []).append(self.results.pop(step))


OutcomeStatus = Literal["completed", "compensated", "needs_attention", "halted"]


class SagaOutcome[S: SagaProgress](BaseModel):
    """How a saga ended.

    - ``completed``: every step succeeded.
    - ``compensated``: a step failed (``reason``) and every registered undo succeeded.
    - ``needs_attention``: a step failed and some undos could not be done (``failed_compensations``);
      a person must act.
    - ``halted``: a step said there is nothing to do (``halt``, e.g. ``already_synced``).
    """

    version: Literal[1] = 1
    status: OutcomeStatus
    reason: StepError | None = None
    failed_step: str | None = None
    halt: str | None = None
    state: S

    @property
    def failed_compensations(self) -> list[CompensationRecord]:
        return [c for c in self.state.compensations if c.status == "failed"]


EventType = Literal[
    "step_started",
    "step_succeeded",
    "step_retrying",
    "step_failed",
    "step_abandoned",
    "compensation_started",
    "compensation_succeeded",
    "compensation_retrying",
    "compensation_failed",
]


class SagaEvent(BaseModel):
    """What the engine reports to its observer (entity timeline, ledger)."""

    type: EventType
    step: str
    attempt: int = 1
    at: str = ""
    delay_seconds: float | None = None
    error: StepError | None = None
    result: Any = None


def outcome_of[S: SagaProgress](state: S, **fields: Any) -> SagaOutcome[S]:
    """An outcome typed by its state's own class, so that it survives a JSON round trip whole."""
    cls: Any = SagaOutcome[type(state)]  # type: ignore[misc]
    outcome: SagaOutcome[S] = cls(state=state, **fields)
    return outcome
