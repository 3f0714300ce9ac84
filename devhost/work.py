"""Running one work item, an activity (with injected faults) or a durable HTTP request, into its result event."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from devhost import history as h
from devhost import rpc
from devhost.actions import HTTP_ACTIVITY
from devhost.clock import Clock, fmt_ts
from devhost.faults import FaultRegistry
from devhost.invoke import host_exception_text, worker_failure_text
from devhost.loader import FunctionIndex, FunctionInfo
from devhost.stats import Stats
from devhost.worker import Worker

log = logging.getLogger("devhost.engine")  # the engine's log channel, whichever module logs


class WorkRunner:
    """Runs work items; at most `max_activities` activities at a time. Delivering the result is the caller's."""

    def __init__(
        self,
        index: FunctionIndex,
        worker: Worker,
        clock: Clock,
        stats: Stats,
        faults: FaultRegistry,
        max_activities: int,
    ) -> None:
        self.index = index
        self.worker = worker
        self.clock = clock
        self.stats = stats
        self.faults = faults
        self._activity_sem = asyncio.Semaphore(max_activities)
        self._http_session: aiohttp.ClientSession | None = None
        # The durableClient binding value for a function (activities may declare one, as in Azure); the server
        # sets it once it knows its own URL, before any activity runs.
        self.client_binding: Callable[[FunctionInfo], str] | None = None

    async def close(self) -> None:
        if self._http_session is not None:
            await self._http_session.close()

    def _now_ts(self) -> str:
        return fmt_ts(self.clock.now())

    async def run(self, task_id: int, item: dict[str, Any]) -> dict[str, Any]:
        """The TaskCompleted or TaskFailed event of the work item scheduled with id `task_id`."""
        if item["kind"] == "http":
            return await self._run_http(task_id, item)
        return await self._run_activity_with_faults(task_id, item)

    async def _run_activity_with_faults(self, task_id: int, item: dict[str, Any]) -> dict[str, Any]:
        name = str(item["name"])
        text = _compact(item.get("input"))
        for _ in range(1000):
            rule = self.faults.take(name, input_text=text)
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


def _compact(raw: Any) -> str:
    """An activity's input as compact JSON text (no spaces), what a fault's ``input_contains`` is matched in."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        return str(raw)
