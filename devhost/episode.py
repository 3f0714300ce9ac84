"""One orchestration episode: pending events into history, one replay through the SDK, its reply applied (§2)."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devhost import history as h
from devhost import retries, rpc
from devhost.actions import ActionType, decode_reply, encode_context, flatten_actions, parse_failure
from devhost.clock import fmt_ts
from devhost.determinism import NONDET_PREFIX, check_determinism
from devhost.model import Instance

if TYPE_CHECKING:
    from devhost.engine import Engine

log = logging.getLogger("devhost.engine")  # the engine's log channel, whichever module logs


class EpisodeRunner:
    """Runs episodes of the engine's instances; the caller flushes afterwards (persist, then launch the work)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # User code runs on the worker's own thread pool; this small pool only encodes and decodes the
        # orchestration JSON off the event loop (the host does that work in its own process).
        self.codec_pool = ThreadPoolExecutor(2, thread_name_prefix="devhost-codec")

    def close(self) -> None:
        self.codec_pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, inst: Instance) -> None:
        ts_dt, sched = self._take_pending(inst)
        ts = fmt_ts(ts_dt)
        state, error = await self._replay(inst)
        self.engine.stats.orchestrator_episodes += 1
        if self.engine.instances.get(inst.instance_id) is not inst or inst.terminal:
            return  # terminated or purged while the episode ran: its result is discarded (§6.14)
        self._apply_reply(inst, state, error, ts, sched)

    def _take_pending(self, inst: Instance) -> tuple[datetime, list[dict[str, Any]]]:
        """Move the pending events into the history (retry events first, §2.6.3); returns the episode's time and
        the scheduling events the retry bookkeeping created."""
        ts_epoch = max(self.engine.clock.now().timestamp(), inst.last_episode_ts)  # never decreasing (§6.5)
        inst.last_episode_ts = ts_epoch
        ts_dt = datetime.fromtimestamp(ts_epoch, tz=UTC)
        ts = fmt_ts(ts_dt)
        pending, inst.pending = inst.pending, []
        if inst.status == "Pending":
            inst.status = "Running"
        retry_first, new = retries.retry_events_first(inst, pending)
        sched: list[dict[str, Any]] = []
        for e in retry_first:
            attempt = retries.on_retry_event(inst, e, ts_dt, ts, sched)
            if attempt is not None:
                self.engine.scheduler.schedule_attempt(inst, attempt[0], attempt[1], ts, sched)
        retries.forget_succeeded(inst, new)
        for old in inst.history:
            old["IsPlayed"] = True
        inst.history.append(h.ev(h.ORCHESTRATOR_STARTED, ts))
        inst.history.extend(new)
        self.engine.stats.history_events_appended += 1 + len(new)
        return ts_dt, sched

    @staticmethod
    def _context(inst: Instance) -> dict[str, Any]:
        return {
            "history": list(inst.history),  # a snapshot: a terminate may append while the episode runs
            "input": None,  # decoded with the rest on the codec thread
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

    async def _replay(self, inst: Instance) -> tuple[dict[str, Any] | None, str | None]:
        """Invoke the orchestrator over the history; returns (reply state, error text)."""
        started = inst.history[1] if len(inst.history) > 1 else {}
        input_text = started.get("Input")
        context = self._context(inst)
        info = self.engine.index.orchestrators.get(inst.name.lower())
        if info is None:
            return None, f"The function '{inst.name}' doesn't exist, is disabled, or is not an orchestrator function."
        loop = asyncio.get_running_loop()
        context_json = await loop.run_in_executor(self.codec_pool, encode_context, context, input_text)
        done = await self.engine.worker.invoke(info.function_id, {info.trigger_name: rpc.string(context_json)})
        reply_text = done.return_text if done.ok else None
        if reply_text is not None:
            return await loop.run_in_executor(self.codec_pool, decode_reply, reply_text), None
        return parse_failure(done.error or "the orchestrator function returned nothing")

    def _apply_reply(
        self,
        inst: Instance,
        state: dict[str, Any] | None,
        error: str | None,
        ts: str,
        sched: list[dict[str, Any]],
    ) -> None:
        if state and state.get("customStatus"):
            inst.custom_status = state["customStatus"]  # falsy values are never sent (§6.10)
        leaves = flatten_actions(state.get("actions") or []) if state else []
        fail_message: str | None = None
        if error is not None:
            fail_message = f"Orchestrator function '{inst.name}' failed: {error}"
        nondet = check_determinism(inst, leaves, strict_count=error is None)
        if nondet is not None:
            fail_message = NONDET_PREFIX + nondet
        can_input: list[str | None] = []
        if fail_message is None:
            fail_message = self.engine.scheduler.apply_new_leaves(inst, leaves, ts, sched, can_input)
        if fail_message is None:
            _drop_cancelled_timers(inst, leaves)
        inst.history.extend(sched)
        inst.history.append(h.ev(h.ORCHESTRATOR_COMPLETED, ts))
        self.engine.stats.history_events_appended += len(sched) + 1
        if fail_message is not None:
            log.warning("orchestration %s (%s) failed: %s", inst.instance_id, inst.name, fail_message)
            inst.history.append(h.ev(h.EXECUTION_COMPLETED, ts, OrchestrationStatus=3, Result=fail_message))
            self.engine.finish(inst, "Failed", fail_message, failed_reason=fail_message)
        elif state and state.get("isDone") and can_input:
            self.engine.continue_as_new(inst, can_input[0], ts)
        elif state and state.get("isDone"):
            output = json.dumps(state["output"]) if "output" in state else None
            inst.history.append(h.ev(h.EXECUTION_COMPLETED, ts, OrchestrationStatus=1, Result=output))
            self.engine.finish(inst, "Completed", output)
        else:
            self.engine.mark_dirty(inst)


def _drop_cancelled_timers(inst: Instance, leaves: list[dict[str, Any]]) -> None:
    """timer.cancel() only flips isCanceled on a replayed leaf (§2.6.4): its timer no longer fires."""
    for i in range(min(inst.leaves_done, len(leaves))):
        leaf = leaves[i]
        rec = inst.leaf_record[i]
        if leaf.get("actionType") == ActionType.CREATE_TIMER and leaf.get("isCanceled") and rec.get("id") is not None:
            inst.timers.pop(str(rec["id"]), None)
