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


class SagaState(BaseModel):
    """Everything needed to resume a saga in another orchestrator episode or generation."""

    version: Literal[1] = 1
    input: JsonDict = Field(default_factory=dict)
    results: dict[str, Any] = Field(default_factory=dict)
    # A step's results from earlier rounds (before each of a person's retries ran it again), oldest
    # first: what it did then, which its undo may still need (e.g. that this transaction created the
    # customer, even if a later round found it already there).
    earlier_results: dict[str, list[Any]] = Field(default_factory=dict)
    completed_steps: list[str] = Field(default_factory=list)
    compensations: list[CompensationRecord] = Field(default_factory=list)
    attempts: dict[str, int] = Field(default_factory=dict)
    # Why the saga is being rolled back (set before the undos run, so that they can say it where people look).
    failure: StepError | None = None
    # Forward-only steps that failed for good (nothing was rolled back for them), by step name.
    abandoned: dict[str, StepError] = Field(default_factory=dict)


OutcomeStatus = Literal["completed", "compensated", "needs_attention", "halted"]


class SagaOutcome(BaseModel):
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
    state: SagaState

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
