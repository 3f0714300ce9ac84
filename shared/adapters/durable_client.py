"""The Durable Functions SDK's orchestration client behind the application's plain ``DurableClient`` port.

Only ``function_app.py`` and the blueprints may import the Functions SDKs (tests/test_wiring.py), and this
module is shared by the HTTP, timer and activity blueprints, so it must not import them. It duck-types the
client instead (``SdkClient`` lists what it calls; mypy checks the SDK's client against it where a blueprint
builds the adapter), and the blueprint hands in the two SDK types it needs: ``EntityId`` (to name an entity)
and ``OrchestrationRuntimeStatus`` (to filter listings by status). See ``durable_client_adapter`` in each
blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.application.ports import EndedBadly, InstanceInfo


class SdkClient(Protocol):
    """The methods of ``azure.durable_functions.DurableOrchestrationClient`` the adapter calls."""

    async def get_status(self, instance_id: str, /, *, show_input: bool) -> Any: ...

    async def start_new(self, orchestration_function_name: str, instance_id: str, client_input: Any, /) -> Any: ...

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any, /) -> Any: ...

    async def read_entity_state(self, entity_id: Any, /) -> Any: ...

    async def signal_entity(self, entity_id: Any, operation_name: str, operation_input: Any, /) -> Any: ...

    async def get_status_by(self, *, created_time_from: datetime, runtime_status: list[Any] = ...,
                            instance_id_prefix: str) -> Any: ...

    async def purge_instance_history_by(self, *, created_time_from: datetime, created_time_to: datetime,
                                        runtime_status: list[Any]) -> Any: ...


@dataclass
class _Info:
    runtime_status: str | None
    output: Any
    created_time: str = ""
    custom_status: Any = None


class DurableClientAdapter:
    """``DurableOrchestrationClient`` behind the plain ``DurableClient`` port (also used by client activities).

    ``entity_id`` builds the SDK's entity id from (entity name, key); ``runtime_status`` turns a status name
    ("Failed") into the SDK's status value.
    """

    def __init__(self, client: SdkClient, *, entity_id: Callable[[str, str], Any],
                 runtime_status: Callable[[str], Any]) -> None:
        self._client = client
        self._entity_id = entity_id
        self._runtime_status = runtime_status

    def _statuses(self, *names: str) -> list[Any]:
        return [self._runtime_status(name) for name in names]

    async def status(self, instance_id: str) -> InstanceInfo | None:
        found = await self._client.get_status(instance_id, show_input=False)
        if not found or found.runtime_status is None:
            return None
        created = found.created_time
        return _Info(found.runtime_status.value, found.output, created.isoformat() if created else "",
                     getattr(found, "custom_status", None))

    async def start(self, orchestrator: str, instance_id: str, input_: Any) -> str:
        return str(await self._client.start_new(orchestrator, instance_id, input_))

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        await self._client.raise_event(instance_id, event, data)

    async def entity_state(self, entity: str, key: str) -> Any:
        found = await self._client.read_entity_state(self._entity_id(entity, key))
        return found.entity_state if found.entity_exists else None

    async def ended_badly(self, instance_id_prefix: str, since: datetime) -> list[EndedBadly]:
        # One page (the SDK does not follow continuation tokens): created since ``since`` keeps it to
        # recent runs, plenty for faults that should not happen.
        found = await self._client.get_status_by(created_time_from=since,
                                                 runtime_status=self._statuses("Failed", "Terminated"),
                                                 instance_id_prefix=instance_id_prefix)
        return [EndedBadly(str(s.instance_id), s.runtime_status.value if s.runtime_status else "",
                           str(s.output)[:500]) for s in found]

    async def created_since(self, instance_id_prefix: str, since: datetime) -> list[str]:
        # One page, as ``ended_badly``: the ledger repair looks back a day or two, not over the whole history.
        found = await self._client.get_status_by(created_time_from=since, instance_id_prefix=instance_id_prefix)
        return [str(s.instance_id) for s in found]

    async def signal_entity(self, entity: str, key: str, operation: str, input_: object) -> None:
        await self._client.signal_entity(self._entity_id(entity, key), operation, input_)

    async def purge_finished(self, created_before: datetime) -> int:
        # createdTimeFrom is required by the host; datetime.min is refused (400), any early date will do.
        result = await self._client.purge_instance_history_by(
            created_time_from=datetime(2000, 1, 1, tzinfo=UTC), created_time_to=created_before,
            runtime_status=self._statuses("Completed", "Failed", "Terminated"))
        return int(result.instances_deleted)
