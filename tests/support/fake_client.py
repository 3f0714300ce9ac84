"""An in-memory durable client behind the application's ``DurableClient`` port, with the host's start rules.

Starting an id that is pending or running is refused (the host answers 500, the SDK raises); starting an id
that finished replaces it. Payloads go through a JSON round trip, as over the host's HTTP API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.application.ports import EndedBadly

RUNNING = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})
FINISHED = frozenset({"Completed", "Failed", "Terminated"})


@dataclass
class Info:
    runtime_status: str | None
    output: Any = None
    created_time: str = ""
    custom_status: Any = None


class TaskHubDown(ConnectionError):
    """What the SDK raises when the task hub cannot be reached."""


@dataclass
class FakeDurableClient:
    instances: dict[str, Info] = field(default_factory=dict)
    starts: list[tuple[str, str, Any]] = field(default_factory=list)  # (orchestrator, instance id, input)
    status_reads: list[str] = field(default_factory=list)
    refuse: dict[str, int] = field(default_factory=dict)  # instance id -> starts still to fail with TaskHubDown
    before_start: Callable[[str], None] | None = None  # e.g. another trigger starting the same id first
    in_flight: int = 0
    max_in_flight: int = 0
    entities: dict[tuple[str, str], Any] = field(default_factory=dict)  # (entity name, key) -> state
    events: list[tuple[str, str, Any]] = field(default_factory=list)  # (instance id, event, data) raised
    purges: list[datetime] = field(default_factory=list)

    def finish(self, instance_id: str, status: str = "Completed", output: Any = None) -> None:
        self.instances[instance_id] = Info(status, output)

    def started_ids(self, orchestrator: str | None = None) -> list[str]:
        return [iid for name, iid, _ in self.starts if orchestrator in (None, name)]

    async def status(self, instance_id: str) -> Info | None:
        self.status_reads.append(instance_id)
        await asyncio.sleep(0)  # a real read is a round trip: let other starters run meanwhile
        return self.instances.get(instance_id)

    async def start(self, orchestrator: str, instance_id: str, input_: Any) -> str:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0)
            if self.before_start is not None:
                self.before_start(instance_id)
            if self.refuse.get(instance_id, 0) > 0:
                self.refuse[instance_id] -= 1
                raise TaskHubDown(f"cannot reach the task hub to start {instance_id}")
            existing = self.instances.get(instance_id)
            if existing is not None and existing.runtime_status in RUNNING:
                raise Exception(f"An Orchestration instance with the status {existing.runtime_status} already exists.")
            self.instances[instance_id] = Info("Pending")
            self.starts.append((orchestrator, instance_id, json.loads(json.dumps(input_))))
            return instance_id
        finally:
            self.in_flight -= 1

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        await asyncio.sleep(0)
        self.events.append((instance_id, event, json.loads(json.dumps(data))))

    async def entity_state(self, entity: str, key: str) -> Any:
        await asyncio.sleep(0)
        return self.entities.get((entity, key))

    async def ended_badly(self, instance_id_prefix: str, since: datetime) -> list[EndedBadly]:
        await asyncio.sleep(0)
        return [EndedBadly(iid, info.runtime_status or "", str(info.output)) for iid, info in self.instances.items()
                if iid.startswith(instance_id_prefix) and info.runtime_status in ("Failed", "Terminated")]

    async def created_since(self, instance_id_prefix: str, since: datetime) -> list[str]:
        """Every instance of the prefix (this fake keeps no creation times)."""
        await asyncio.sleep(0)
        return [iid for iid in self.instances if iid.startswith(instance_id_prefix)]

    async def purge_finished(self, created_before: datetime) -> int:
        """Forget every finished instance (this fake keeps no creation times): as a purge of old history."""
        self.purges.append(created_before)
        done = [iid for iid, info in self.instances.items() if info.runtime_status in FINISHED]
        for iid in done:
            del self.instances[iid]
        return len(done)
