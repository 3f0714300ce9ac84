"""The orchestration context as plain code sees it: a port the blueprint adapts the SDK's context to.

Keeping ``azure.durable_functions`` out of orchestrator logic lets it be unit-tested with a fake and
keeps the SDK at the edge. Everything here must stay replay-safe: no I/O, no wall-clock time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Orchestration(Protocol):
    @property
    def instance_id(self) -> str: ...

    @property
    def current_utc_datetime(self) -> datetime: ...

    def get_input(self) -> Any: ...

    def call_activity(self, name: str, input_: Any = None) -> Any: ...

    def create_timer(self, fire_at: datetime) -> Any: ...

    def wait_for_external_event(self, name: str) -> Any: ...

    def task_any(self, tasks: list[Any]) -> Any: ...

    def task_all(self, tasks: list[Any]) -> Any: ...

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Any: ...

    def call_entity(self, entity: str, key: str, operation: str, input_: Any = None) -> Any: ...

    def signal_entity(self, entity: str, key: str, operation: str, input_: Any = None) -> None: ...

    def continue_as_new(self, input_: Any) -> None: ...

    def set_custom_status(self, status: Any) -> None: ...

    @property
    def custom_status(self) -> Any:
        """The status last set (by this run or a replay of it); None before any."""
        ...


def task_failed(task: Any) -> bool:
    """Whether a task that ``task_any`` returned ended in failure (the SDK's ``task.state`` is ``FAILED``)."""
    return getattr(getattr(task, "state", None), "name", "") == "FAILED"
