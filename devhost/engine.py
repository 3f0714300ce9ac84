"""The durable engine: instances, episodes through the SDK handle, activities, timers, retries (§2)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from devhost import history as h
from devhost import rpc
from devhost.clock import Clock, fmt_ts, parse_ts
from devhost.entities import EntityScheduler, split_entity_id
from devhost.faults import FaultRegistry
from devhost.invoke import host_exception_text, worker_failure_text
from devhost.loader import FunctionIndex, FunctionInfo
from devhost.model import EntityRecord, Instance
from devhost.stats import Stats
from devhost.store import Store
from devhost.timers import TimerService
from devhost.worker import Worker

log = logging.getLogger("devhost.engine")

OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"
NONDET_PREFIX = "Non-Deterministic workflow detected: "
_NONDET_TAIL = "Was a change made to the orchestrator code after this instance had already started running?"
_GUID_NS = uuid.UUID("9e952958-5e33-4daf-827f-2fa12937b875")

# actionType -> (kind, DTFx action class used in non-determinism messages)
_KINDS: dict[int, tuple[str, str]] = {
    0: ("activity", "ScheduleTaskOrchestratorAction"),
    1: ("activity", "ScheduleTaskOrchestratorAction"),
    8: ("activity", "ScheduleTaskOrchestratorAction"),
    5: ("timer", "CreateTimerOrchestratorAction"),
    2: ("suborch", "CreateSubOrchestrationAction"),
    3: ("suborch", "CreateSubOrchestrationAction"),
    7: ("event", "SendEventOrchestratorAction"),
    9: ("event", "SendEventOrchestratorAction"),
    6: ("wait", ""),
    4: ("can", ""),
}
HTTP_ACTIVITY = "BuiltIn::HttpActivity"


class InstanceExistsError(Exception):
    """Starting an id whose instance is Pending/Running/Suspended (NonRunningStates dedupe, §4.3)."""


class UnknownFunctionError(Exception):
    pass


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Depth-first leaves of the action tree; compound wrappers 11/12 are skipped (§2.7)."""
    out: list[dict[str, Any]] = []

    def walk(a: Any) -> None:
        if isinstance(a, list):
            for x in a:
                walk(x)
        elif isinstance(a, dict):
            if a.get("actionType") in (11, 12):
                for c in a.get("compoundActions") or []:
                    walk(c)
            else:
                out.append(a)

    walk(actions)
    return out


def _leaf_name(a: dict[str, Any]) -> str:
    t = int(a.get("actionType", -1))
    if t in (0, 1, 2, 3):
        return str(a.get("functionName") or "")
    if t == 8:
        return HTTP_ACTIVITY
    if t in (7, 9):
        return "op"  # EventSent.Name is always "op" for entity messages (§2.6.6)
    if t == 6:
        return str(a.get("externalEventName") or "")
    return ""


def parse_failure(text: str) -> tuple[dict[str, Any] | None, str]:
    """Split the worker's `"Exception: {exc}\\n\\n$OutOfProcData$:{state}"` into the state and the error (§2.4)."""
    if OUT_OF_PROC_LABEL in text:
        head, _, payload = text.partition(OUT_OF_PROC_LABEL)
        try:
            state: dict[str, Any] = json.loads(payload)
            return state, str(state.get("error") or head)
        except ValueError:
            return None, head
    return None, text


def nondeterminism_message(old: dict[str, Any], cur: dict[str, Any] | None, old_event: dict[str, Any]) -> str | None:
    """DTFx TaskOrchestrationContext.Handle*Event texts (§2.5), or None when the replay matches."""
    sid, name, kind = old["id"], old["n"], old["k"]
    if kind == "activity":
        if cur is None:
            return (
                f"A previous execution of this orchestration scheduled an activity task with sequence ID {sid} "
                f"and name '{name}' (version ''), but the current replay execution hasn't (yet?) scheduled "
                f"this task. {_NONDET_TAIL}"
            )
        if cur["k"] != "activity":
            return (
                f"A previous execution of this orchestration scheduled an activity task with sequence number "
                f"{sid} named '{name}', but the current orchestration replay instead produced a {cur['cls']} "
                f"action with this sequence number. {_NONDET_TAIL}"
            )
        if cur["n"].lower() != name.lower():
            # DTFx really has two spaces before "Was" here.
            return (
                f"A previous execution of this orchestration scheduled an activity task with sequence number "
                f"{sid} named '{name}', but the current orchestration replay instead scheduled an activity "
                f"task named '{cur['n']}' with this sequence number.  {_NONDET_TAIL}"
            )
        return None
    if kind == "timer":
        if cur is None:
            return (
                f"A previous execution of this orchestration scheduled a timer task with sequence number {sid} "
                f"but the current replay execution hasn't (yet?) scheduled this task. {_NONDET_TAIL}"
            )
        if cur["k"] != "timer":
            return (
                f"A previous execution of this orchestration scheduled a timer task with sequence number {sid} "
                f"named but the current orchestration replay instead produced a {cur['cls']} action with "
                f"this sequence number. {_NONDET_TAIL}"
            )
        return None
    if kind == "suborch":
        child = old_event.get("InstanceId", "")
        head = (
            f"A previous execution of this orchestration scheduled a sub-orchestration task with sequence ID "
            f"{sid} and name '{name}' (version '', instance ID '{child}'), "
        )
        if cur is None:
            return head + f"but the current replay execution hasn't (yet?) scheduled this task. {_NONDET_TAIL}"
        if cur["k"] != "suborch":
            return head + (
                f"but the current orchestration replay instead produced a {cur['cls']} action at this "
                f"sequence number. {_NONDET_TAIL}"
            )
        if cur["n"].lower() != name.lower():
            return head + (
                f"but the current orchestration replay instead scheduled a sub-orchestration task "
                f"with name {cur['n']} at this sequence number. {_NONDET_TAIL}"
            )
        return None
    if kind == "event":
        target = old_event.get("InstanceId", "")
        if cur is None:
            return (
                f"A previous execution of this orchestration scheduled a send event task with sequence ID {sid}, "
                f"type 'EventSent' name '{name}', instance ID '{target}', but the current replay execution "
                f"hasn't (yet?) scheduled this task. Was a change made to the orchestrator code after this "
                f"instance had already started running?"
            )
        if cur["k"] != "event":
            return (
                f"A previous execution of this orchestration scheduled a send event task with sequence ID {sid}, "
                f"type 'EventSent', name '{name}', instance ID '{target}', but the current orchestration replay "
                f"instead scheduled a {cur['cls']} task at this sequence number. {_NONDET_TAIL}"
            )
        return None
    return None


def _encode_context(context: dict[str, Any], input_text: str | None) -> str:
    """The orchestration context JSON (§2.1), built on a helper thread: the work grows with the history and on the
    event loop it would hold up every HTTP request queued behind it."""
    context["input"] = json.loads(input_text) if input_text is not None else None
    return json.dumps(context)


def _decode_reply(text: str) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(text)
    return reply


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
        # User code runs on the worker's own thread pool; this small pool only encodes and decodes the
        # orchestration JSON off the event loop (the host does that work in its own process).
        self.codec_pool = ThreadPoolExecutor(2, thread_name_prefix="devhost-codec")
        self.entities = EntityScheduler(index, worker, stats, self)
        self.timers = TimerService(clock, self.idle)
        self._activity_sem = asyncio.Semaphore(self.max_activities)
        self._busy = 0
        self._episode_running: set[str] = set()
        self._work_running: set[tuple[str, str, str]] = set()
        self._armed: set[tuple[str, str, str]] = set()
        self._dirty_i: dict[str, Instance] = {}
        self._dirty_e: dict[str, EntityRecord] = {}
        self._deleted: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer_task: asyncio.Task[None] | None = None
        self._http_session: aiohttp.ClientSession | None = None
        # The durableClient binding value for a function (activities may declare one, as in Azure); the server
        # sets it once it knows its own URL, before any activity runs.
        self.client_binding: Callable[[FunctionInfo], str] | None = None

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
        self._timer_task = asyncio.get_running_loop().create_task(self.timers.run())
        for inst in self.instances.values():
            if not inst.terminal:
                self._launch(inst)
        for rec in self.entities.records.values():
            self.entities.kick(rec)

    async def stop(self) -> None:
        if self._timer_task is not None:
            self._timer_task.cancel()
        for t in list(self._tasks):
            t.cancel()
        if self._http_session is not None:
            await self._http_session.close()
        self.codec_pool.shutdown(wait=False, cancel_futures=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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

    def _now_ts(self) -> str:
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
            self._launch(inst)
        for rec in ents:
            self.entities.kick(rec)

    def _launch(self, inst: Instance) -> None:
        if inst.terminal:
            return
        for tid, item in inst.inflight.items():
            key = (inst.instance_id, inst.execution_id, tid)
            if key not in self._work_running:
                self._work_running.add(key)
                self.busy_inc()
                self._spawn(self._run_work(inst.instance_id, inst.execution_id, tid, dict(item)))
        for tid, fire_at in inst.timers.items():
            key = (inst.instance_id, inst.execution_id, tid)
            if key not in self._armed:
                self._armed.add(key)
                self.timers.add(parse_ts(fire_at), self._timer_alive(key), self._timer_fire(key))
        self._kick(inst)

    # ----- client-facing operations ----------------------------------------------------------------------

    def orchestrator_name(self, name: str) -> str:
        info = self.index.orchestrators.get(name.lower())
        if info is None:
            raise UnknownFunctionError(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Additional info: The following are the known orchestrator functions: "
                f"{self.index.known('orchestrator')}."
            )
        return info.durable_name

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
        parent_json = None
        if parent is not None:
            parent_json = {
                "Name": parent.get("name"),
                "Version": "",
                "TaskScheduleId": parent["task_id"],
                "OrchestrationInstance": {"InstanceId": parent["instance_id"], "ExecutionId": parent["execution_id"]},
            }
        inst.pending.append(
            h.execution_started(self._now_ts(), instance_id, execution_id, name, input_text, parent_json, version)
        )
        self.instances[instance_id] = inst
        self.mark_dirty(inst)
        return inst

    def raise_event(self, inst: Instance, name: str, input_text: str | None) -> None:
        inst.pending.append(h.ev(h.EVENT_RAISED, self._now_ts(), Name=name, Input=input_text))
        self.mark_dirty(inst)
        self.flush()

    def terminate(self, inst: Instance, reason: str | None) -> None:
        inst.history.append(h.ev(h.EXECUTION_TERMINATED, self._now_ts(), Input=reason))
        self._finish(inst, "Terminated", reason, failed_reason=reason or "terminated")
        self.flush()

    def suspend(self, inst: Instance, reason: str | None) -> None:
        if inst.suspended:
            return
        inst.suspended = True
        inst.status = "Suspended"
        inst.history.append(h.ev(h.EXECUTION_SUSPENDED, self._now_ts(), Reason=reason))
        self.mark_dirty(inst)
        self.flush()

    def resume(self, inst: Instance, reason: str | None) -> None:
        if not inst.suspended:
            return
        inst.suspended = False
        inst.status = "Running"
        inst.history.append(h.ev(h.EXECUTION_RESUMED, self._now_ts(), Reason=reason))
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

    def _deliver(self, instance_id: str, execution_id: str, event: dict[str, Any], work_id: str | None = None) -> bool:
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
        self._deliver(
            instance_id, execution_id, h.ev(h.EVENT_RAISED, self._now_ts(), Name=request_id, Input=json.dumps(payload))
        )

    def _timer_alive(self, key: tuple[str, str, str]) -> Any:
        def alive() -> bool:
            inst = self.instances.get(key[0])
            ok = inst is not None and inst.execution_id == key[1] and not inst.terminal and key[2] in inst.timers
            if not ok:
                self._armed.discard(key)
            return ok

        return alive

    def _timer_fire(self, key: tuple[str, str, str]) -> Any:
        def fire() -> None:
            self._armed.discard(key)
            inst = self.instances.get(key[0])
            if inst is None or inst.execution_id != key[1] or inst.terminal or key[2] not in inst.timers:
                return
            fire_at = inst.timers.pop(key[2])
            inst.pending.append(h.ev(h.TIMER_FIRED, self._now_ts(), TimerId=int(key[2]), FireAt=fire_at))
            self.mark_dirty(inst)
            self.flush()

        return fire

    # ----- activities and durable HTTP -------------------------------------------------------------------

    async def _run_work(self, instance_id: str, execution_id: str, work_id: str, item: dict[str, Any]) -> None:
        try:
            if item["kind"] == "http":
                event = await self._run_http(int(work_id), item)
            else:
                event = await self._run_activity_with_faults(int(work_id), item)
            if self._deliver(instance_id, execution_id, event, work_id):
                self.flush()
            else:
                self.stats.activity_results_discarded += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("internal error running work item %s of %s", work_id, instance_id)
        finally:
            self._work_running.discard((instance_id, execution_id, work_id))
            self.busy_dec()

    async def _run_activity_with_faults(self, task_id: int, item: dict[str, Any]) -> dict[str, Any]:
        name = str(item["name"])
        for _ in range(1000):
            rule = self.faults.take(name)
            if rule is None:
                return await self._execute_activity(task_id, name, item.get("input"))
            if rule.mode == "delay":
                await asyncio.sleep(rule.delay_ms / 1000.0)
                return await self._execute_activity(task_id, name, item.get("input"))
            if rule.mode == "duplicate":
                # Two deliveries of the same work item: both run, the first result to arrive is recorded.
                first = asyncio.ensure_future(self._execute_activity(task_id, name, item.get("input")))
                second = asyncio.ensure_future(self._execute_activity(task_id, name, item.get("input")))
                done, _ = await asyncio.wait({first, second}, return_when=asyncio.FIRST_COMPLETED)
                winner = done.pop()
                other = second if winner is first else first
                other.add_done_callback(lambda _t: self._count_discard())
                return winner.result()
            # crash_after: the side effect happened, the result is lost, the work item is delivered again.
            await self._execute_activity(task_id, name, item.get("input"))
            self.stats.activity_results_discarded += 1
            log.warning("fault crash_after: discarding result of activity %s (task %s), re-running", name, task_id)
        return await self._execute_activity(task_id, name, item.get("input"))

    def _count_discard(self) -> None:
        self.stats.activity_results_discarded += 1

    async def _execute_activity(self, task_id: int, name: str, input_text: str | None) -> dict[str, Any]:
        info = self.index.activities.get(name.lower())
        async with self._activity_sem:
            self.stats.activity_executions[info.durable_name if info else name] += 1
            try:
                if info is None:
                    raise LookupError(f"activity function '{name}' not found")
                # The extension hands the activity its TaskScheduled input as a string (§5.3).
                inputs: dict[str, Any] = {info.trigger_name: rpc.string(input_text or "null")}
                for client_param in info.client_params:
                    if self.client_binding is None:
                        raise LookupError(f"no durable client binding for activity '{name}'")
                    inputs[client_param] = rpc.string(self.client_binding(info))
                done = await self.worker.invoke(info.function_id, inputs)
                if done.ok:
                    result_text = done.return_text
                    return h.ev(h.TASK_COMPLETED, self._now_ts(), TaskScheduledId=task_id,
                                Result=result_text if result_text is not None else "null")
                friendly = worker_failure_text(done.error)
            except Exception as exc:  # devhost's own failure before the worker ran the function
                friendly = host_exception_text(exc)
            log.warning("activity %s failed: %s", name, friendly.strip())
            reason = f"Activity function '{info.durable_name if info else name}' failed: {friendly}"
            details = h.failure_details(friendly)
            return h.ev(h.TASK_FAILED, self._now_ts(), TaskScheduledId=task_id, Reason=reason, Details=details)

    async def _run_http(self, task_id: int, item: dict[str, Any]) -> dict[str, Any]:
        req: dict[str, Any] = item.get("request") or {}
        try:
            if self._http_session is None:
                self._http_session = aiohttp.ClientSession()
            content = req.get("content")
            data = content.encode() if isinstance(content, str) else None
            async with self._http_session.request(
                str(req.get("method", "GET")), str(req.get("uri")), data=data, headers=req.get("headers") or None
            ) as resp:
                body = await resp.text()
                result = {"statusCode": resp.status, "headers": dict(resp.headers), "content": body}
            return h.ev(h.TASK_COMPLETED, self._now_ts(), TaskScheduledId=task_id, Result=json.dumps(result))
        except Exception as exc:
            reason = f"Activity function '{HTTP_ACTIVITY}' failed: {host_exception_text(exc)}"
            return h.ev(
                h.TASK_FAILED,
                self._now_ts(),
                TaskScheduledId=task_id,
                Reason=reason,
                Details=h.failure_details(str(exc)),
            )

    # ----- episodes --------------------------------------------------------------------------------------

    def _kick(self, inst: Instance) -> None:
        if inst.instance_id in self._episode_running:
            return
        if not inst.pending or inst.terminal or inst.suspended:
            return
        self._episode_running.add(inst.instance_id)
        self.busy_inc()
        self._spawn(self._episode_loop(inst.instance_id))

    async def _episode_loop(self, instance_id: str) -> None:
        try:
            while True:
                inst = self.instances.get(instance_id)
                if inst is None or not inst.pending or inst.terminal or inst.suspended:
                    return
                await self._episode(inst)
                self.flush()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("internal error in episode of %s", instance_id)
        finally:
            self._episode_running.discard(instance_id)
            self.busy_dec()

    def _is_retry_event(self, inst: Instance, e: dict[str, Any]) -> bool:
        et = e["EventType"]
        if et in (h.TASK_FAILED, h.SUB_ORCHESTRATION_FAILED):
            return str(e.get("TaskScheduledId")) in inst.retry_by_attempt
        if et == h.TIMER_FIRED:
            return str(e.get("TimerId")) in inst.retry_timers
        return False

    async def _episode(self, inst: Instance) -> None:
        now = self.clock.now()
        ts_epoch = max(now.timestamp(), inst.last_episode_ts)  # never decreasing (§6.5)
        inst.last_episode_ts = ts_epoch
        ts_dt = datetime.fromtimestamp(ts_epoch, tz=UTC)
        ts = fmt_ts(ts_dt)
        new = inst.pending
        inst.pending = []
        if inst.status == "Pending":
            inst.status = "Running"
        # Retry-related events go first so that the ids DTFx's RetryInterceptor allocates line up with the
        # SDK's RetryAbleTask before any new user action is numbered (§2.7, ordering rule).
        retry_first = [e for e in new if self._is_retry_event(inst, e)]
        new = retry_first + [e for e in new if not self._is_retry_event(inst, e)]
        sched: list[dict[str, Any]] = []
        for e in retry_first:
            self._retry_bookkeeping(inst, e, ts_dt, ts, sched)
        for e in new:
            if e["EventType"] in (h.TASK_COMPLETED, h.SUB_ORCHESTRATION_COMPLETED):
                key = inst.retry_by_attempt.pop(str(e.get("TaskScheduledId")), None)
                if key is not None:
                    inst.retries.pop(key, None)
        for old in inst.history:
            old["IsPlayed"] = True
        inst.history.append(h.ev(h.ORCHESTRATOR_STARTED, ts))
        inst.history.extend(new)
        self.stats.history_events_appended += 1 + len(new)

        started = inst.history[1] if len(inst.history) > 1 else {}
        input_text = started.get("Input")
        context = {
            "history": list(inst.history),  # a snapshot: a terminate may append while the episode runs
            "input": None,  # decoded with the rest on the orchestrator thread
            "instanceId": inst.instance_id,
            "isReplaying": False,
            "parentInstanceId": inst.parent["instance_id"] if inst.parent else None,
            # Newest replay schema: the SDK then uses V3 (one flat action list, compound actions) (§2.1).
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            "longRunningTimerIntervalDuration": "3.00:00:00",
            "maximumShortTimerDuration": "6.00:00:00",
            "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
        }
        info = self.index.orchestrators.get(inst.name.lower())
        state: dict[str, Any] | None
        error: str | None = None
        if info is None:
            state = None
            error = f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator function."
        else:
            loop = asyncio.get_running_loop()
            context_json = await loop.run_in_executor(self.codec_pool, _encode_context, context, input_text)
            done = await self.worker.invoke(info.function_id, {info.trigger_name: rpc.string(context_json)})
            reply_text = done.return_text if done.ok else None
            if reply_text is not None:
                state = await loop.run_in_executor(self.codec_pool, _decode_reply, reply_text)
            else:
                state, error = parse_failure(done.error or "the orchestrator function returned nothing")
        self.stats.orchestrator_episodes += 1
        if self.instances.get(inst.instance_id) is not inst or inst.terminal:
            return  # terminated or purged while the episode ran: its result is discarded (§6.14)
        if state and state.get("customStatus"):
            inst.custom_status = state["customStatus"]  # falsy values are never sent (§6.10)
        leaves = flatten_actions(state.get("actions") or []) if state else []
        fail_message: str | None = None
        if error is not None:
            fail_message = f"Orchestrator function '{inst.name}' failed: {error}"
        nondet = self._check_determinism(inst, leaves, strict_count=error is None)
        if nondet is not None:
            fail_message = NONDET_PREFIX + nondet
        can_input: list[str | None] = []
        if fail_message is None:
            fail_message = self._apply_new_leaves(inst, leaves, ts, ts_dt, sched, can_input)
        if fail_message is None:
            for i in range(min(inst.leaves_done, len(leaves))):
                leaf = leaves[i]
                rec = inst.leaf_record[i]
                if leaf.get("actionType") == 5 and leaf.get("isCanceled") and rec.get("id") is not None:
                    inst.timers.pop(str(rec["id"]), None)  # timer.cancel() only flips isCanceled (§2.6.4)
        inst.history.extend(sched)
        inst.history.append(h.ev(h.ORCHESTRATOR_COMPLETED, ts))
        self.stats.history_events_appended += len(sched) + 1
        if fail_message is not None:
            log.warning("orchestration %s (%s) failed: %s", inst.instance_id, inst.name, fail_message)
            inst.history.append(h.ev(h.EXECUTION_COMPLETED, ts, OrchestrationStatus=3, Result=fail_message))
            self._finish(inst, "Failed", fail_message, failed_reason=fail_message)
        elif state and state.get("isDone") and can_input:
            self._continue_as_new(inst, can_input[0], ts)
        elif state and state.get("isDone"):
            output = json.dumps(state["output"]) if "output" in state else None
            inst.history.append(h.ev(h.EXECUTION_COMPLETED, ts, OrchestrationStatus=1, Result=output))
            self._finish(inst, "Completed", output)
        else:
            self.mark_dirty(inst)

    def _check_determinism(self, inst: Instance, leaves: list[dict[str, Any]], strict_count: bool) -> str | None:
        """Compare the replay's id-consuming actions, in order, with the recorded scheduling events (§2.5)."""
        old = [r for r in inst.leaf_record if r.get("id") is not None]
        if not old:
            return None
        cur: list[dict[str, Any]] = []
        for a in leaves:
            kind, cls = _KINDS.get(int(a.get("actionType", -1)), ("?", "UnknownAction"))
            if kind not in ("wait", "can"):
                cur.append({"k": kind, "n": _leaf_name(a), "cls": cls})
        events = {
            int(e["EventId"]): e
            for e in inst.history
            if e["EventType"] in (h.TASK_SCHEDULED, h.TIMER_CREATED, h.SUB_ORCHESTRATION_CREATED, h.EVENT_SENT)
        }
        for j, rec in enumerate(old):
            if j >= len(cur):
                if not strict_count:
                    return None
                return nondeterminism_message(rec, None, events.get(int(rec["id"]), {}))
            msg = nondeterminism_message(rec, cur[j], events.get(int(rec["id"]), {}))
            if msg is not None:
                return msg
        return None

    def _alloc(self, inst: Instance) -> int:
        sid = inst.next_id
        inst.next_id += 1
        return sid

    def _validate(self, leaf: dict[str, Any]) -> str | None:
        """ThrowIfFunctionDoesNotExist, applied while replaying the action (§2.6.1)."""
        t = int(leaf.get("actionType", -1))
        if t in (0, 1):
            name = str(leaf.get("functionName"))
            if name.lower() not in self.index.activities:
                return (
                    f"The function '{name}' doesn't exist, is disabled, or is not an activity function. "
                    f"Additional info: The following are the known activity functions: "
                    f"{self.index.known('activity')}."
                )
        elif t in (2, 3):
            name = str(leaf.get("functionName"))
            if name.lower() not in self.index.orchestrators:
                return (
                    f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                    f"Additional info: The following are the known orchestrator functions: "
                    f"{self.index.known('orchestrator')}."
                )
        elif t in (7, 9):
            name, _ = split_entity_id(str(leaf.get("instanceId")))
            if name.lower() not in self.index.entities:
                return (
                    f"The function '{name}' doesn't exist, is disabled, or is not an entity function. "
                    f"Additional info: The following are the known entity functions: "
                    f"{self.index.known('entity')}."
                )
        return None

    def _apply_new_leaves(
        self,
        inst: Instance,
        leaves: list[dict[str, Any]],
        ts: str,
        ts_dt: datetime,
        sched: list[dict[str, Any]],
        can_input: list[str | None],
    ) -> str | None:
        new_leaves = leaves[inst.leaves_done :]
        for leaf in new_leaves:
            problem = self._validate(leaf)
            if problem is not None:
                return f"Orchestrator function '{inst.name}' failed: {problem}"
        for leaf in new_leaves:
            t = int(leaf.get("actionType", -1))
            kind = _KINDS.get(t, ("?", ""))[0]
            record: dict[str, Any] = {"k": kind, "n": _leaf_name(leaf), "id": None}
            inst.leaf_record.append(record)
            inst.leaves_done += 1
            if t == 6:
                continue  # external-event waits take no sequence id
            if t == 4:
                can_input.append(leaf.get("input"))
                continue
            sid = self._alloc(inst)
            record["id"] = sid
            if t in (0, 1):
                self._schedule_activity(inst, sid, str(leaf["functionName"]), leaf.get("input"), ts, sched)
                if t == 1:
                    self._remember_retry(inst, sid, "activity", leaf)
            elif t == 8:
                sched.append(h.ev(h.TASK_SCHEDULED, ts, sid, Name=HTTP_ACTIVITY, Version="", Input=None))
                inst.inflight[str(sid)] = {"kind": "http", "request": leaf.get("httpRequest")}
            elif t == 5:
                fire_at = str(leaf.get("fireAt"))
                sched.append(h.ev(h.TIMER_CREATED, ts, sid, FireAt=fire_at))
                if not leaf.get("isCanceled"):
                    inst.timers[str(sid)] = fire_at
            elif t in (2, 3):
                given = leaf.get("instanceId")
                self._schedule_suborch(
                    inst, sid, str(leaf["functionName"]), leaf.get("input"), str(given) if given else None, ts, sched
                )
                if t == 3:
                    self._remember_retry(inst, sid, "suborch", leaf)
            elif t in (7, 9):
                self._send_entity_message(inst, sid, leaf, signal=(t == 9), ts=ts, sched=sched)
        return None

    def _remember_retry(self, inst: Instance, sid: int, kind: str, leaf: dict[str, Any]) -> None:
        opts = leaf.get("retryOptions") or {}
        inst.retries[str(sid)] = {
            "kind": kind,
            "name": leaf.get("functionName"),
            "input": leaf.get("input"),
            "instance_id": leaf.get("instanceId"),
            # The SDK never sends backoffCoefficient, so the delay is constant (§2.3, actionType 1).
            "interval_ms": int(opts.get("firstRetryIntervalInMilliseconds", 0)),
            "max": int(opts.get("maxNumberOfAttempts", 1)),
            "attempts": 1,
        }
        inst.retry_by_attempt[str(sid)] = str(sid)

    def _retry_bookkeeping(
        self, inst: Instance, e: dict[str, Any], ts_dt: datetime, ts: str, sched: list[dict[str, Any]]
    ) -> None:
        """DTFx RetryInterceptor (§2.6.3): a failed attempt creates a timer (also after the last attempt);
        when it fires, the next attempt gets a new id, or nothing happens and the SDK surfaces the error."""
        if e["EventType"] in (h.TASK_FAILED, h.SUB_ORCHESTRATION_FAILED):
            key = inst.retry_by_attempt.pop(str(e["TaskScheduledId"]))
            r = inst.retries.get(key)
            if r is None:
                return
            tid = self._alloc(inst)
            fire_at = fmt_ts(ts_dt + timedelta(milliseconds=int(r["interval_ms"])))
            inst.timers[str(tid)] = fire_at
            inst.retry_timers[str(tid)] = key
            sched.append(h.ev(h.TIMER_CREATED, ts, tid, FireAt=fire_at))
        elif e["EventType"] == h.TIMER_FIRED:
            key = inst.retry_timers.pop(str(e["TimerId"]))
            r = inst.retries.get(key)
            if r is None:
                return
            if int(r["attempts"]) >= int(r["max"]):
                inst.retries.pop(key, None)
                return
            r["attempts"] = int(r["attempts"]) + 1
            sid = self._alloc(inst)
            inst.retry_by_attempt[str(sid)] = key
            if r["kind"] == "activity":
                self._schedule_activity(inst, sid, str(r["name"]), r.get("input"), ts, sched)
            else:
                given = r.get("instance_id")
                self._schedule_suborch(
                    inst, sid, str(r["name"]), r.get("input"), str(given) if given else None, ts, sched
                )

    def _schedule_activity(
        self, inst: Instance, sid: int, name: str, input_text: str | None, ts: str, sched: list[dict[str, Any]]
    ) -> None:
        sched.append(h.ev(h.TASK_SCHEDULED, ts, sid, Name=name, Version="", Input=json.dumps([input_text])))
        inst.inflight[str(sid)] = {"kind": "activity", "name": name, "input": input_text}

    def _schedule_suborch(
        self,
        inst: Instance,
        sid: int,
        name: str,
        input_text: str | None,
        given_id: str | None,
        ts: str,
        sched: list[dict[str, Any]],
    ) -> None:
        # DTFx names unnamed children "<parent ExecutionId>:<seq id>" (§2.6.7).
        child_id = given_id or f"{inst.execution_id}:{sid}"
        sched.append(
            h.ev(h.SUB_ORCHESTRATION_CREATED, ts, sid, Name=name, Version="", InstanceId=child_id, Input=input_text)
        )
        child_input = json.dumps(input_text) if input_text is not None else None
        parent = {"instance_id": inst.instance_id, "execution_id": inst.execution_id, "task_id": sid, "name": inst.name}
        try:
            self.start_instance(self.orchestrator_name(name), child_id, child_input, parent=parent)
        except (InstanceExistsError, UnknownFunctionError) as exc:
            reason = str(exc)
            inst.pending.append(
                h.ev(
                    h.SUB_ORCHESTRATION_FAILED,
                    ts,
                    TaskScheduledId=sid,
                    Reason=reason,
                    Details=h.failure_details(reason),
                )
            )

    def _send_entity_message(
        self, inst: Instance, sid: int, leaf: dict[str, Any], signal: bool, ts: str, sched: list[dict[str, Any]]
    ) -> None:
        entity_id = str(leaf["instanceId"])
        name, key = split_entity_id(entity_id)
        # Deterministic request GUID, like the extension's NewGuid (any unique value works for the SDK).
        request_id = str(uuid.uuid5(_GUID_NS, f"{inst.instance_id}:{inst.execution_id}:{sid}"))
        action_input = leaf.get("input")
        op_input = json.dumps(action_input) if action_input is not None else None  # second layer (§1)
        message: dict[str, Any] = {
            "op": leaf.get("operation"),
            "signal": signal,
            "id": request_id,
            "parent": None if signal else inst.instance_id,
            "parentExecution": None if signal else inst.execution_id,
            "Timestamp": ts,
        }
        if op_input is not None:
            message["input"] = op_input
        sched.append(h.ev(h.EVENT_SENT, ts, sid, InstanceId=entity_id, Name="op", Input=json.dumps(message)))
        self.entities.enqueue(
            name,
            key,
            {
                "op": leaf.get("operation"),
                "input": op_input,
                "id": request_id,
                "parent": message["parent"],
                "parentExecution": message["parentExecution"],
                "signal": signal,
            },
        )

    def _continue_as_new(self, inst: Instance, input_action: str | None, ts: str) -> None:
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
                None
                if inst.parent is None
                else {
                    "Name": inst.parent.get("name"),
                    "Version": "",
                    "TaskScheduleId": inst.parent["task_id"],
                    "OrchestrationInstance": {
                        "InstanceId": inst.parent["instance_id"],
                        "ExecutionId": inst.parent["execution_id"],
                    },
                },
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

    def _finish(self, inst: Instance, status: str, output_text: str | None, failed_reason: str | None = None) -> None:
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
        ts = self._now_ts()
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
        self._deliver(str(parent["instance_id"]), str(parent["execution_id"]), event)

    # ----- queries ---------------------------------------------------------------------------------------

    def counts_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for inst in self.instances.values():
            counts[inst.status] = counts.get(inst.status, 0) + 1
        return counts
