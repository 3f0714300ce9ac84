"""The durable client adapter: the SDK client's answers as the port's plain values, the SDK's types handed in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import azure.durable_functions as df

from shared.adapters.durable_client import DurableClientAdapter
from shared.application.ports import EndedBadly

SINCE = datetime(2026, 11, 1, tzinfo=UTC)


class Status(Enum):
    Completed = "Completed"
    Failed = "Failed"
    Terminated = "Terminated"


@dataclass
class Found:
    instance_id: str
    runtime_status: Status | None
    output: Any = None
    created_time: datetime | None = None


@dataclass
class EntityState:
    entity_exists: bool
    entity_state: Any = None


@dataclass
class Purged:
    instances_deleted: int


class FakeSdkClient:
    """Records the SDK calls the adapter makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def get_status(self, instance_id: str, /, *, show_input: bool) -> Any:
        self.calls.append(("get_status", (instance_id, show_input)))
        return Found(instance_id, Status.Completed, {"status": "completed"}, datetime(2026, 11, 2, tzinfo=UTC))

    async def start_new(self, orchestration_function_name: str, instance_id: str, client_input: Any, /) -> Any:
        self.calls.append(("start_new", (orchestration_function_name, instance_id, client_input)))
        return instance_id

    async def raise_event(self, instance_id: str, event_name: str, event_data: Any, /) -> Any:
        self.calls.append(("raise_event", (instance_id, event_name, event_data)))

    async def read_entity_state(self, entity_id: Any, /) -> Any:
        self.calls.append(("read_entity_state", entity_id))
        return EntityState(True, {"status": "running"})

    async def signal_entity(self, entity_id: Any, operation_name: str, operation_input: Any, /) -> Any:
        self.calls.append(("signal_entity", (entity_id, operation_name, operation_input)))

    async def get_status_by(self, *, created_time_from: datetime, runtime_status: list[Any] | None = None,
                            instance_id_prefix: str) -> Any:
        self.calls.append(("get_status_by", (created_time_from, runtime_status, instance_id_prefix)))
        return [Found("deal-1", Status.Failed, "boom" * 200), Found("deal-2", None)]

    async def purge_instance_history_by(self, *, created_time_from: datetime, created_time_to: datetime,
                                        runtime_status: list[Any]) -> Any:
        self.calls.append(("purge", (created_time_from, created_time_to, runtime_status)))
        return Purged(3)


def adapter(sdk: FakeSdkClient) -> DurableClientAdapter:
    return DurableClientAdapter(sdk, entity_id=lambda name, key: (name, key), runtime_status=Status)


def test_status_is_the_plain_runtime_status_output_and_creation_time() -> None:
    sdk = FakeSdkClient()
    info = asyncio.run(adapter(sdk).status("deal-1"))
    assert info is not None
    assert (info.runtime_status, info.output, info.created_time) == ("Completed", {"status": "completed"},
                                                                     "2026-11-02T00:00:00+00:00")
    assert sdk.calls == [("get_status", ("deal-1", False))]


def test_entities_are_named_with_the_entity_id_factory_the_blueprint_hands_in() -> None:
    sdk = FakeSdkClient()
    client = adapter(sdk)
    assert asyncio.run(client.entity_state("sync_transaction", "deal-1")) == {"status": "running"}
    asyncio.run(client.signal_entity("sync_transaction", "deal-1", "apply", {"op": "x"}))
    assert sdk.calls == [("read_entity_state", ("sync_transaction", "deal-1")),
                         ("signal_entity", (("sync_transaction", "deal-1"), "apply", {"op": "x"}))]


def test_listings_filter_by_the_sdk_status_values_and_keep_outputs_short() -> None:
    sdk = FakeSdkClient()
    client = adapter(sdk)
    ended = asyncio.run(client.ended_badly("deal-", SINCE))
    assert ended == [EndedBadly("deal-1", "Failed", ("boom" * 200)[:500]), EndedBadly("deal-2", "", "None")]
    assert asyncio.run(client.created_since("deal-", SINCE)) == ["deal-1", "deal-2"]
    assert asyncio.run(client.purge_finished(SINCE)) == 3
    (_, ended_badly), (_, created_since), (_, purge) = sdk.calls
    assert ended_badly == (SINCE, [Status.Failed, Status.Terminated], "deal-")
    assert created_since == (SINCE, None, "deal-")  # every status: the SDK's default
    assert purge == (datetime(2000, 1, 1, tzinfo=UTC), SINCE, [Status.Completed, Status.Failed, Status.Terminated])


def test_the_sdk_types_the_blueprints_hand_in_build_what_the_sdk_expects() -> None:
    sdk = FakeSdkClient()
    client = DurableClientAdapter(sdk, entity_id=df.EntityId, runtime_status=df.OrchestrationRuntimeStatus)
    asyncio.run(client.entity_state("sync_transaction", "deal-1"))
    asyncio.run(client.ended_badly("deal-", SINCE))
    entity = sdk.calls[0][1]
    assert isinstance(entity, df.EntityId) and (entity.name, entity.key) == ("sync_transaction", "deal-1")
    assert sdk.calls[1][1][1] == [df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated]
