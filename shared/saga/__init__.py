"""The saga engine: ordered steps with compensations, retries and outcomes, in plain Python (no Azure imports)."""

from shared.saga.engine import DurableContext, Saga, SagaObserver, Step, run_compensations, run_saga
from shared.saga.envelope import run_activity
from shared.saga.outcome import (
    CompensationRecord,
    SagaEvent,
    SagaOutcome,
    SagaProgress,
    SagaState,
    StepError,
)
from shared.saga.policy import RetryPolicy

__all__ = [
    "CompensationRecord",
    "DurableContext",
    "RetryPolicy",
    "Saga",
    "SagaEvent",
    "SagaObserver",
    "SagaOutcome",
    "SagaProgress",
    "SagaState",
    "Step",
    "StepError",
    "run_activity",
    "run_compensations",
    "run_saga",
]
