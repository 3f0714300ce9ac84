"""The shapes of a saga's step table: an activity (name, models, handler), an action, a step with its retries.

A table of these is the one place a saga's steps are declared (``shared.sync.deal_saga``): the engine's
steps, the registered activities and the wiring test are derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shared.saga.engine import Step
from shared.saga.envelope import Halt, run_activity
from shared.saga.outcome import SagaProgress
from shared.saga.policy import RetryPolicy
from shared.sync.batched_attempt import batched
from shared.sync.batching import Kind
from shared.sync.messages import dump
from shared.sync.policy import SagaPolicy
from shared.sync.step_ports import Ports

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Activity[In: BaseModel, Out: BaseModel]:
    """One activity: its name (a wire contract: an in-flight history records it), input and result models,
    and the plain code behind it."""

    name: str
    input_model: type[In]
    result_model: type[Out]
    handler: Callable[[In, Ports], Out | Halt]

    def run(self, payload: Any, ports: Ports) -> JsonDict:
        """Validate the payload and run the handler: a business rejection comes back as data, others raise."""
        return run_activity(lambda p: self.handler(self.input_model.model_validate(p), ports), payload)


@dataclass(frozen=True)
class Action[S: SagaProgress, In: BaseModel]:
    """An activity and how its input is built from the typed saga state."""

    activity: Activity[In, Any]
    build: Callable[[S], In]

    def payload(self, state: S) -> JsonDict:
        return dump(self.build(state))


@dataclass(frozen=True)
class SagaStep[S: SagaProgress]:
    """One line of the table. ``name`` is also the saga state's field that holds the step's result.

    ``retry`` and ``undo_retry`` pick the step's policies from the ``SagaPolicy`` frozen in the input;
    ``enabled`` says whether the saga of a given policy has the step at all. ``batch`` names the batch kind
    whose queue the forward attempts go through when the policy batches steps (``BATCHED_STEPS``);
    ``undo_batch`` the same for the undo's attempts.
    """

    name: str
    forward: Action[S, Any]
    undo: Action[S, Any] | None
    retry: Callable[[SagaPolicy], RetryPolicy]
    undo_retry: Callable[[SagaPolicy], RetryPolicy] | None = None
    forward_only: bool = False
    enabled: Callable[[SagaPolicy], bool] = lambda _policy: True
    batch: Kind | None = None
    undo_batch: Kind | None = None

    def engine_step(self, policy: SagaPolicy) -> Step[S]:
        undo = self.undo
        return Step(
            name=self.name, activity=self.forward.activity.name, build_input=self.forward.payload,
            compensation=undo.activity.name if undo else None, build_compensation_input=undo.payload if undo else None,
            retry=self.retry(policy), forward_only=self.forward_only,
            compensation_retry=self.undo_retry(policy) if self.undo_retry else None,
            attempt=batched(self.batch, policy.batch_org, policy.batch_wait_seconds, self.name, policy.gather())
            if self.batch and policy.batched_steps else None,
            compensation_attempt=batched(self.undo_batch, policy.batch_org, policy.batch_wait_seconds,
                                         f"{self.name}-undo", policy.gather())
            if self.undo_batch and policy.batched_steps else None,
        )


def activities_of[S: SagaProgress](table: tuple[SagaStep[S], ...]) -> dict[str, Activity[Any, Any]]:
    """Every activity the table names, once each, by name (one activity may serve several steps)."""
    found: dict[str, Activity[Any, Any]] = {}
    for step in table:
        for action in (step.forward, step.undo):
            if action is not None:
                found.setdefault(action.activity.name, action.activity)
    return found


def check_table[S: SagaProgress](table: tuple[SagaStep[S], ...], state: type[S]) -> None:
    """Each step's result has a typed home in the state, of the forward activity's result model; one
    activity name means one activity."""
    for step in table:
        field = state.model_fields.get(step.name)
        expected = step.forward.activity.result_model | None
        if field is None or field.annotation != expected:
            raise TypeError(f"{state.__name__}.{step.name} must be {expected}, not {field and field.annotation}")
    seen: dict[str, Activity[Any, Any]] = {}
    for step in table:
        for action in (step.forward, step.undo):
            if action is not None and seen.setdefault(action.activity.name, action.activity) is not action.activity:
                raise TypeError(f"two activities are named {action.activity.name!r}")
