"""Runs timerTrigger functions on their schedules (UTC, host clock), honouring run_on_startup, or on demand."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from devhost import rpc
from devhost.clock import Clock, fmt_ts
from devhost.cron import Schedule, parse_schedule
from devhost.loader import FunctionInfo
from devhost.worker import Worker

log = logging.getLogger("devhost.timer")


class TimerTriggerRunner:
    def __init__(
        self,
        functions: list[FunctionInfo],
        clock: Clock,
        worker: Worker,
        client_json: Callable[[FunctionInfo], str],
    ) -> None:
        self.clock = clock
        self.worker = worker
        self.client_json = client_json
        self.functions = functions
        # The Functions host matches function names case-insensitively; an exact match wins over a folded one.
        self._by_name = {info.name: info for info in functions}
        self._by_folded = {info.name.casefold(): info for info in functions}
        self.schedules: dict[str, Schedule] = {}
        self.invocations: dict[str, int] = {}
        for info in functions:
            # `use_monitor` is ignored: there is no schedule monitor locally.
            self.schedules[info.name] = parse_schedule(str(info.trigger.get("schedule", "")))
        self._tasks: list[asyncio.Task[None]] = []
        # On-demand runs: the loop keeps only weak references to tasks, and stop() must cancel them.
        self._on_demand: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for info in self.functions:
            self._tasks.append(loop.create_task(self._loop(info)))

    def stop(self) -> None:
        for t in [*self._tasks, *self._on_demand]:
            t.cancel()

    def find(self, name: str) -> FunctionInfo | None:
        return self._by_name.get(name) or self._by_folded.get(name.casefold())

    def invoke_now(self, name: str) -> asyncio.Task[None] | None:
        """Run timer function `name` once right away (admin invoke); None if there is no such timer function.

        Built and counted like a scheduled run before returning, with past_due=False (the real host's timer
        binding builds a fresh TimerInfo); the schedule itself is left alone."""
        info = self.find(name)
        if info is None:
            return None
        inputs = self._prepare(info, past_due=False)
        task = asyncio.get_running_loop().create_task(self._run(info, inputs))
        self._on_demand.add(task)
        task.add_done_callback(self._on_demand.discard)
        return task

    async def _loop(self, info: FunctionInfo) -> None:
        try:
            await self._schedule_loop(info)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timer trigger loop for '%s' crashed", info.name)

    async def _schedule_loop(self, info: FunctionInfo) -> None:
        schedule = self.schedules[info.name]
        if info.trigger.get("runOnStartup"):
            await self._invoke(info, past_due=False)
        due = schedule.next_after(self.clock.now())
        while True:
            now = self.clock.now()
            if now < due:
                await asyncio.sleep(min((due - now).total_seconds(), 1.0))
                continue
            # One invocation per wake-up, flagged past due when late (e.g. after a virtual clock jump).
            past_due = (now - due).total_seconds() > 1.0
            await self._invoke(info, past_due=past_due)
            due = schedule.next_after(max(now, due))

    async def _invoke(self, info: FunctionInfo, past_due: bool) -> None:
        await self._run(info, self._prepare(info, past_due))

    def _prepare(self, info: FunctionInfo, past_due: bool) -> dict[str, Any]:
        """The invocation's inputs (the timer payload + durable clients); counts the invocation as started."""
        now: datetime = self.clock.now()
        schedule = self.schedules[info.name]
        inputs: dict[str, Any] = {info.trigger_name: rpc.json_text(json.dumps(timer_payload(
            now, schedule, past_due, monitor=bool(info.trigger.get("useMonitor", True)))))}
        for client_param in info.client_params:
            inputs[client_param] = rpc.string(self.client_json(info))
        self.invocations[info.name] = self.invocations.get(info.name, 0) + 1
        return inputs

    async def _run(self, info: FunctionInfo, inputs: dict[str, Any]) -> None:
        try:
            done = await self.worker.invoke(info.function_id, inputs)
        except Exception:
            log.exception("timer function '%s' could not be invoked", info.name)
            return
        if not done.ok:
            log.error("timer function '%s' failed: %s", info.name, done.error)


def timer_payload(now: datetime, schedule: Schedule, past_due: bool, monitor: bool) -> dict[str, Any]:
    """The TimerInfo JSON the host's timer binding sends (§8.4): the schedule, the monitor's status (null when
    the schedule monitor is off, as it is without `use_monitor`) and whether this run is past due."""
    status = None
    if monitor:
        status = {"Last": fmt_ts(now), "Next": fmt_ts(schedule.next_after(now)), "LastUpdated": fmt_ts(now)}
    return {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": past_due}
