"""A fake orchestration context that behaves like Durable Functions at the boundary, for pure unit tests.

What it reproduces (host protocol §1 and §2.6.2): every payload goes through a JSON round trip,
and a failed activity reaches the orchestrator as a bare ``Exception`` whose text is
``"<Reason> \\n <Details>"``, the original exception type lost. Timers advance a virtual clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class ActivityTask:
    name: str
    input_json: str


class TaskState:
    """The SDK's task states, by name (``task.state.name``)."""

    def __init__(self, name: str) -> None:
        self.name = name


RUNNING, SUCCEEDED, FAILED = TaskState("RUNNING"), TaskState("SUCCEEDED"), TaskState("FAILED")
NEVER = object()  # what a fake sub-orchestrator returns to stay running (e.g. waiting for a person)
NEVER_JSON = {"__never__": True}


@dataclass
class TimerTask:
    fire_at: datetime
    state: TaskState = RUNNING
    cancelled: bool = False

    @property
    def is_completed(self) -> bool:
        return self.state is not RUNNING

    def cancel(self) -> None:
        if self.is_completed:
            raise ValueError("a completed timer cannot be cancelled")  # as the SDK
        self.cancelled = True


@dataclass
class EventTask:
    name: str
    result: Any = None  # the event's data, as the SDK's task carries it once the event arrived


@dataclass
class AnyTask:
    tasks: list[Any]
    state: TaskState = RUNNING
    result: Any = None


@dataclass
class SubOrchestrationTask:
    name: str
    input_json: str
    instance_id: str | None
    state: TaskState = RUNNING
    result: Any = None
    started: bool = False


@dataclass
class AllTask:
    tasks: list[Any]
    state: TaskState = RUNNING


@dataclass
class EntityCallTask:
    entity: str
    key: str
    operation: str
    input_json: str


@dataclass
class FakeDurableContext:
    activities: dict[str, Callable[[Any], Any]]
    current_utc_datetime: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    calls: list[tuple[str, Any]] = field(default_factory=list)
    timers: list[float] = field(default_factory=list)
    instance_id: str = "instance-1"
    input: Any = None
    # External events a person sends, in order: a name, (name, what the person did first), or
    # (name, what the person did first or None, the event's data).
    events: list[Any] = field(default_factory=list)
    signals: list[tuple[str, str, str, Any]] = field(default_factory=list)
    custom_status: Any = None
    sub_orchestrators: dict[str, Callable[[str, Any], Any]] = field(default_factory=dict)
    entities: dict[tuple[str, str], Callable[[str, Any], Any]] = field(default_factory=dict)
    sub_calls: list[tuple[str, str | None, Any]] = field(default_factory=list)
    all_batches: list[int] = field(default_factory=list)
    continued_with: Any = None

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Any:
        return SubOrchestrationTask(name, json.dumps(input_), instance_id)

    def task_all(self, tasks: list[Any]) -> AllTask:
        return AllTask(tasks)

    def call_entity(self, entity: str, key: str, operation: str, input_: Any = None) -> EntityCallTask:
        return EntityCallTask(entity, key, operation, json.dumps(input_))

    def continue_as_new(self, input_: Any) -> None:
        self.continued_with = json.loads(json.dumps(input_))

    def _complete(self, task: Any) -> Any:
        """Run one schedulable task; raises the host-shaped Exception on failure."""
        if isinstance(task, SubOrchestrationTask):
            payload = json.loads(task.input_json)
            self.sub_calls.append((task.name, task.instance_id, payload))
            try:
                value = self.sub_orchestrators[task.name](task.instance_id or "", payload)
                return NEVER_JSON if value is NEVER else json.loads(json.dumps(value))
            except Exception as exc:
                raise Exception(f"Orchestrator function '{task.name}' failed: {exc} \n {{}}") from None
        if isinstance(task, EntityCallTask):
            return json.loads(json.dumps(self.entities[(task.entity, task.key)](task.operation,
                                                                              json.loads(task.input_json))))
        if isinstance(task, ActivityTask):
            payload = json.loads(task.input_json)
            self.calls.append((task.name, payload))
            try:
                return json.loads(json.dumps(self.activities[task.name](payload)))
            except Exception as exc:  # what the host turns into TaskFailed
                friendly = f" {type(exc).__name__}: {exc}"
                reason = f"Activity function '{task.name}' failed: {friendly}"
                details = json.dumps({"$type": "System.Exception", "ClassName": "System.Exception",
                                      "Message": friendly})
                raise Exception(f"{reason} \n {details}") from None
        raise TypeError(f"unexpected task {task!r}")

    def _next_event(self, task: AnyTask) -> EventTask | None:
        """The first scripted event a waiter of ``task`` takes: a plain name ("retry") is the person's
        click for the round being waited on; a full name ("retry-r0") only matches that exact event."""
        while self.events:
            wanted, data = self.events.pop(0), None
            if isinstance(wanted, tuple):
                wanted, before, *rest = wanted
                data = rest[0] if rest else None
                if before is not None:
                    before()
            for t in task.tasks:
                if isinstance(t, EventTask) and (t.name == wanted or t.name.startswith(f"{wanted}-r")):
                    t.result = data
                    return t
        return None

    def _leaves(self, task: Any) -> list[Any]:
        return [leaf for t in task.tasks for leaf in self._leaves(t)] if isinstance(task, AnyTask | AllTask) else [task]

    def _check_fresh(self, compound: AnyTask | AllTask) -> None:
        """The host cannot wait again on a task an earlier task_any/task_all scheduled: refuse it."""
        def walk(task: Any) -> None:
            if getattr(task, "_yielded", False):
                raise AssertionError(f"{task!r} was already scheduled by an earlier compound task")
            object.__setattr__(task, "_yielded", True)
            for child in task.tasks if isinstance(task, AnyTask | AllTask) else []:
                walk(child)

        for child in compound.tasks:
            walk(child)

    def _resolve(self, task: Any) -> bool:
        """Start every sub-orchestration under ``task`` not started yet; True once ``task`` has ended.

        As the SDK: a task_any ends (successfully, whatever its child did) with the first child that
        ended, in list order; a task_all fails at its first failed child and succeeds when all have.
        """
        if isinstance(task, SubOrchestrationTask):
            if not task.started:
                task.started = True
                try:
                    value = self._complete(task)
                except Exception as exc:
                    task.state, task.result = FAILED, exc
                else:
                    if value != NEVER_JSON:
                        task.state, task.result = SUCCEEDED, value
            return task.state is not RUNNING
        if isinstance(task, TimerTask):
            return task.is_completed
        if isinstance(task, AnyTask | AllTask) and task.state is not RUNNING:
            return True
        ended = [t for t in task.tasks if self._resolve(t)]  # every child, so that all are started
        if isinstance(task, AnyTask):
            if ended:
                task.state, task.result = SUCCEEDED, ended[0]
        elif any(getattr(t, "state", None) is FAILED for t in task.tasks):
            task.state = FAILED
        elif len(ended) == len(task.tasks):
            task.state = SUCCEEDED
        return task.state is not RUNNING

    def _first_done(self, compound: AnyTask) -> Any:
        """A task_any over sub-orchestrations, timers and nested task_any/task_all: what it returns.
        If nothing has ended, the earliest timer fires (time moves) and is what ends."""
        self.all_batches.append(sum(isinstance(t, SubOrchestrationTask) for t in self._leaves(compound)))
        if not self._resolve(compound):
            timers = [t for t in self._leaves(compound) if isinstance(t, TimerTask) and not t.is_completed]
            if not timers:
                raise AssertionError("task_any would wait for ever: nothing can finish")
            timer = min(timers, key=lambda t: t.fire_at)
            self.timers.append((timer.fire_at - self.current_utc_datetime).total_seconds())
            self.current_utc_datetime = max(self.current_utc_datetime, timer.fire_at)
            timer.state = SUCCEEDED
            assert self._resolve(compound)
        return compound.result

    def get_input(self) -> Any:
        return json.loads(json.dumps(self.input))

    def wait_for_external_event(self, name: str) -> EventTask:
        return EventTask(name)

    def task_any(self, tasks: list[Any]) -> AnyTask:
        return AnyTask(tasks)

    def signal_entity(self, entity: str, key: str, operation: str, input_: Any = None) -> None:
        self.signals.append((entity, key, operation, json.loads(json.dumps(input_))))

    def set_custom_status(self, status: Any) -> None:
        self.custom_status = status

    def call_activity(self, name: str, input_: Any = None) -> ActivityTask:
        return ActivityTask(name, json.dumps(input_))

    def create_timer(self, fire_at: datetime) -> TimerTask:
        return TimerTask(fire_at)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def run(self, gen: Generator[Any, Any, Any]) -> Any:
        """Drive an orchestrator generator to its end, as the replaying executor would."""
        to_send: Any = None
        to_throw: Exception | None = None
        while True:
            try:
                task = gen.throw(to_throw) if to_throw is not None else gen.send(to_send)
            except StopIteration as stop:
                return stop.value
            to_send, to_throw = None, None
            if isinstance(task, TimerTask):
                delay = (task.fire_at - self.current_utc_datetime).total_seconds()
                self.timers.append(delay)
                self.current_utc_datetime = max(self.current_utc_datetime, task.fire_at)
            elif isinstance(task, AllTask):
                self.all_batches.append(len(task.tasks))
                results, failure = [], None
                for child in task.tasks:  # every child runs, as in the host; the first failure surfaces
                    try:
                        results.append(self._complete(child))
                    except Exception as exc:
                        failure = failure or exc
                if failure is not None:
                    to_throw = failure
                else:
                    to_send = results
            elif isinstance(task, ActivityTask | SubOrchestrationTask | EntityCallTask):
                try:
                    to_send = self._complete(task)
                except Exception as exc:
                    to_throw = exc
            elif isinstance(task, AnyTask) and not any(isinstance(t, EventTask) for t in self._leaves(task)):
                self._check_fresh(task)
                to_send = self._first_done(task)
            elif isinstance(task, AnyTask):
                # Scripted events have arrived before any timer fires; a timer already due fires next.
                to_send = self._next_event(task) if self.events else None
                if to_send is None:
                    to_send = next((t for t in task.tasks if isinstance(t, TimerTask)
                                    and t.fire_at <= self.current_utc_datetime), None)
                if to_send is None:
                    return None  # the orchestration waits (for a person, or for events no one sent)
            else:
                raise TypeError(f"unexpected task {task!r}")
