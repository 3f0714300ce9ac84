"""The durable client port the use cases start and read orchestrations through, and the plain values it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# The host's runtime statuses of an instance that has not ended (it may still take events and write state).
ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


class InstanceInfo(Protocol):
    @property
    def runtime_status(self) -> str | None: ...

    @property
    def output(self) -> Any: ...

    @property
    def created_time(self) -> str:
        """When the instance was created (UTC, ISO 8601), or "" when the host did not say."""
        ...

    @property
    def custom_status(self) -> Any:
        """What the orchestration last set as its custom status (None if nothing)."""
        ...


@dataclass(frozen=True)
class EndedBadly:
    """An orchestration that Failed or was Terminated, created at or after the time asked about."""

    instance_id: str
    runtime_status: str
    output: str


class DurableClient(Protocol):
    """What the use cases need from the durable client; ``shared.adapters.durable_client`` adapts the SDK's."""

    async def status(self, instance_id: str) -> InstanceInfo | None: ...

    async def start(self, orchestrator: str, instance_id: str, input_: Any) -> str: ...

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None: ...

    async def entity_state(self, entity: str, key: str) -> Any: ...

    async def purge_finished(self, created_before: datetime) -> int: ...

    async def ended_badly(self, instance_id_prefix: str, since: datetime) -> list[EndedBadly]: ...

    async def created_since(self, instance_id_prefix: str, since: datetime) -> list[str]:
        """The ids of instances created at or after ``since`` whose id starts with the prefix, however they stand."""
        ...


class EntitySignal(Protocol):
    """A one-way operation on an entity (the adapter's ``signal_entity``)."""

    async def __call__(self, entity: str, key: str, operation: str, input_: object) -> None: ...
