"""The durable engine: instance state, its persistence, the client operations and the execution outcomes (§2).

Episodes run in `episode`, the actions of a reply are scheduled by `scheduling` (retries in `retries`, replay
checks in `determinism`), work items run in `work`, and `dispatch` launches what the committed records describe."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from devhost import history as h
from devhost.clock import Clock, fmt_ts
from devhost.dispatch import Dispatcher
from devhost.entities import EntityScheduler
from devhost.episode import EpisodeRunner
from devhost.errors import InstanceExistsError, UnknownFunctionError
from devhost.faults import FaultRegistry
from devhost.loader import FunctionIndex, FunctionInfo
from devhost.model import EntityRecord, Instance
from devhost.scheduling import ActionScheduler
from devhost.stats import Stats
from devhost.store import Store
from devhost.timers import TimerService
from devhost.work import WorkRunner
from devhost.worker import Worker

__all__ = ["Engine", "InstanceExistsError", "UnknownFunctionError"]


def _parent_json(parent: dict[str, Any] | None) -> dict[str, Any] | None:
    """ExecutionStarted.ParentInstance of a sub-orchestration (None for a top-level instance)."""
    if parent is None:
        return None
    return {
        "Name": parent.get("name"),
        "Version": "",
        "TaskScheduleId": parent["task_id"],
        "OrchestrationInstance": {"InstanceId": parent["instance_id"], "ExecutionId": parent["execution_id"]},
    }


class Engine:
    """Owns all instance state. Everything mutates on the event loop thread; user code runs in executors.

    Every mutation path ends with `flush()`: dirty records are committed to the store first, then the work they
    describe (activities in `inflight`, `timers`, pending episodes, entity queues) is launched. A restart runs
    the same launch step over the loaded records, which is how in-flight work is re-run (at-least-once)."""

    def __init__(
        self,
        index: FunctionIndex,
        worker: Worker,
        store: Store,
        clock: Clock,
        stats: Stats,
        faults: FaultRegistry,
        max_activities: int = 16,
    ) -> None:
        self.index = index
        self.worker = worker
        self.store = store
        self.clock = clock
        self.stats = stats
        self.faults = faults
        self.instances: dict[str, Instance] = {}
        self.max_activities = max(1, max_activities)
        self.entities = EntityScheduler(index, worker, stats, self)
        self.timers = TimerService(clock, self.idle)
        self.scheduler = ActionScheduler(index, self.entities, self.start_instance)
        self.episodes = EpisodeRunner(self)
        self.work = WorkRunner(index, worker, clock, stats, faults, self.max_activities)
        self.dispatch = Dispatcher(self)
        self._busy = 0
        self._dirty_i: dict[str, Instance] = {}
        self._dirty_e: dict[str, EntityRecord] = {}
        self._deleted: set[str] = set()

    @property
    def client_binding(self) -> Callable[[FunctionInfo], str] | None:
        """The durableClient binding value for a function; the server sets it once it knows its own URL."""
        return self.work.client_binding

    @client_binding.setter
    def client_binding(self, value: Callable[[FunctionInfo], str] | None) -> None:
        self.work.client_binding = value

    # ----- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load persisted state and resume every unfinished instance and entity queue."""
        instances, entities, meta = self.store.load()
        if "clock_offset" in meta:
            self.clock.restore_offset(float(meta["clock_offset"]))
        for inst in instances:
            self.instances[inst.instance_id] = inst
        for rec in entities:
            self.entities.records[rec.entity_id] = rec
        self.dispatch.start()
        for inst in self.instances.values():
            if not inst.terminal:
                self.dispatch.launch(inst)
        for rec in self.entities.records.values():
            self.entities.kick(rec)

    async def stop(self) -> None:
        self.dispatch.stop()
        await self.work.close()
        self.episodes.close()

    # ----- busy accounting (virtual clock) ---------------------------------------------------------------

    def idle(self) -> bool:
        return self._busy == 0

    def busy_inc(self) -> None:
        self._busy += 1

    def busy_dec(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self.timers.poke()

    def now_epoch(self) -> float:
        return self.clock.now().timestamp()

    def now_ts(self) -> str:
        return fmt_ts(self.clock.now())

    # ----- persistence -----------------------------------------------------------------------------------

    def mark_dirty(self, inst: Instance) -> None:
        inst.last_updated = max(inst.last_updated, self.now_epoch())
        self._dirty_i[inst.instance_id] = inst
        self._deleted.discard(inst.instance_id)

    def mark_entity_dirty(self, record: EntityRecord) -> None:
        self._dirty_e[record.entity_id] = record

    def flush(self) -> None:
        """Commit dirty records in one transaction, then launch the work they describe."""
        if not (self._dirty_i or self._dirty_e or self._deleted):
            return
        insts = [i for i in self._dirty_i.values() if self.instances.get(i.instance_id) is i]
        ents = list(self._dirty_e.values())
        deleted = list(self._deleted)
        self._dirty_i, self._dirty_e, self._deleted = {}, {}, set()
        meta = {"clock_offset": repr(self.clock.offset_seconds)} if self.clock.virtual else None
        self.store.commit(insts, ents, deleted, meta)
        for inst in insts:
            self.dispatch.launch(inst)
        for rec in ents:
            self.entities.kick(rec)

    # ----- client-facing operations ----------------------------------------------------------------------

    def orchestrator_name(self, name: str) -> str:
        return self.scheduler.orchestrator_name(name)

    def start_instance(
        self,
        name: str,
        instance_id: str,
        input_text: str | None,
        parent: dict[str, Any] | None = None,
        version: str = "",
    ) -> Instance:
        existing = self.instances.get(instance_id)
        if existing is not None and not existing.terminal:
            raise InstanceExistsError(f"An Orchestration instance with the status {existing.status} already exists.")
        now = self.now_epoch()
        execution_id = uuid.uuid4().hex
        inst = Instance(
            instance_id=instance_id,
            name=name,
            execution_id=execution_id,
            status="Pending",
            input_text=input_text,
            created=now,
            last_updated=now,
            version=version,
            parent=parent,
        )
        started = h.execution_started(
            self.now_ts(), instance_id, execution_id, name, input_text, _parent_json(parent), version
        )
        inst.pending.append(started)
        self.instances[instance_id] = inst
        self.mark_dirty(inst)
        return inst

    def raise_event(self, inst: Instance, name: str, input_text: str | None) -> None:
        inst.pending.append(h.ev(h.EVENT_RAISED, self.now_ts(), Name=name, Input=input_text))
        self.mark_dirty(inst)
        self.flush()

    def terminate(self, inst: Instance, reason: str | None) -> None:
        inst.history.append(h.ev(h.EXECUTION_TERMINATED, self.now_ts(), Input=reason))
        self.finish(inst, "Terminated", reason, failed_reason=reason or "terminated")
        self.flush()

    def suspend(self, inst: Instance, reason: str | None) -> None:
        if inst.suspended:
            return
        inst.suspended = True
        inst.status = "Suspended"
        inst.history.append(h.ev(h.EXECUTION_SUSPENDED, self.now_ts(), Reason=reason))
        self.mark_dirty(inst)
        self.flush()

    def resume(self, inst: Instance, reason: str | None) -> None:
        if not inst.suspended:
            return
        inst.suspended = False
        inst.status = "Running"
        inst.history.append(h.ev(h.EXECUTION_RESUMED, self.now_ts(), Reason=reason))
        self.mark_dirty(inst)
        self.flush()

    def purge(self, instance_id: str) -> bool:
        inst = self.instances.pop(instance_id, None)
        if inst is None:
            return False
        self._dirty_i.pop(instance_id, None)
        self._deleted.add(instance_id)
        self.flush()
        return True

    def signal_entity(self, name: str, key: str, op: str, input_text: str | None) -> None:
        self.entities.enqueue(
            name,
            key,
            {
                "op": op,
                "input": input_text,
                "id": str(uuid.uuid4()),
                "parent": None,
                "parentExecution": None,
                "signal": True,
            },
        )
        self.flush()

    # ----- message delivery ------------------------------------------------------------------------------

    def deliver(self, instance_id: str, execution_id: str, event: dict[str, Any], work_id: str | None = None) -> bool:
        inst = self.instances.get(instance_id)
        if inst is None or inst.execution_id != execution_id or inst.terminal:
            return False  # results for purged, replaced, continued-as-new or finished executions are dropped
        if work_id is not None:
            if work_id not in inst.inflight:
                return False  # duplicate delivery: only the first completion counts (§6.2)
            del inst.inflight[work_id]
        inst.pending.append(event)
        self.mark_dirty(inst)
        return True

    def deliver_entity_response(
        self, instance_id: str, execution_id: str, request_id: str, payload: dict[str, Any]
    ) -> None:
        self.deliver(
            instance_id, execution_id, h.ev(h.EVENT_RAISED, self.now_ts(), Name=request_id, Input=json.dumps(payload))
        )

    # ----- execution outcomes ----------------------------------------------------------------------------

    def continue_as_new(self, inst: Instance, input_action: str | None, ts: str) -> None:
        """Fresh history and execution id; ids restart at 0; buffered events are dropped (§2.6.8)."""
        inst.execution_id = uuid.uuid4().hex
        inst.input_text = json.dumps(input_action) if input_action is not None else None
        inst.history = []
        inst.pending = [
            h.execution_started(
                ts,
                inst.instance_id,
                inst.execution_id,
                inst.name,
                inst.input_text,
                _parent_json(inst.parent),
                inst.version,
            )
        ]
        inst.next_id = 0
        inst.leaves_done = 0
        inst.leaf_record = []
        inst.retries, inst.retry_by_attempt, inst.retry_timers = {}, {}, {}
        inst.timers, inst.inflight = {}, {}
        inst.status = "Running"
        self.mark_dirty(inst)

    def finish(self, inst: Instance, status: str, output_text: str | None, failed_reason: str | None = None) -> None:
        inst.status = status
        inst.output_text = output_text
        inst.pending, inst.timers, inst.inflight = [], {}, {}
        inst.suspended = False
        if status == "Completed":
            self.stats.orchestrations_completed += 1
        self.mark_dirty(inst)
        parent = inst.parent
        if parent is None:
            return
        ts = self.now_ts()
        if status == "Completed":
            event = h.ev(h.SUB_ORCHESTRATION_COMPLETED, ts, TaskScheduledId=parent["task_id"], Result=output_text)
        else:
            reason = failed_reason or status
            event = h.ev(
                h.SUB_ORCHESTRATION_FAILED,
                ts,
                TaskScheduledId=parent["task_id"],
                Reason=reason,
                Details=h.failure_details(reason),
            )
        self.deliver(str(parent["instance_id"]), str(parent["execution_id"]), event)

    # ----- queries ---------------------------------------------------------------------------------------

    def counts_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for inst in self.instances.values():
            counts[inst.status] = counts.get(inst.status, 0) + 1
        return counts
