"""The dispatch loop: launches the work committed records describe (work items, timers, episodes), once each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from devhost import history as h
from devhost.clock import parse_ts
from devhost.model import Instance

if TYPE_CHECKING:
    from devhost.engine import Engine

log = logging.getLogger("devhost.engine")  # the engine's log channel, whichever module logs

WorkKey = tuple[str, str, str]  # (instance id, execution id, sequence id)


class Dispatcher:
    """Runs an instance's in-flight work items, arms its timers and runs its episodes one at a time.

    It only ever starts what the store already holds (the engine flushes first), so a restart that launches the
    loaded records re-runs the same work (at-least-once); the running/armed sets keep one task per item."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._episode_running: set[str] = set()
        self._work_running: set[WorkKey] = set()
        self._armed: set[WorkKey] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._timer_task = asyncio.get_running_loop().create_task(self.engine.timers.run())

    def stop(self) -> None:
        if self._timer_task is not None:
            self._timer_task.cancel()
        for t in list(self._tasks):
            t.cancel()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def launch(self, inst: Instance) -> None:
        if inst.terminal:
            return
        for tid, item in inst.inflight.items():
            key = (inst.instance_id, inst.execution_id, tid)
            if key not in self._work_running:
                self._work_running.add(key)
                self.engine.busy_inc()
                self._spawn(self._run_work(key, dict(item)))
        for tid, fire_at in inst.timers.items():
            key = (inst.instance_id, inst.execution_id, tid)
            if key not in self._armed:
                self._armed.add(key)
                self.engine.timers.add(parse_ts(fire_at), self._timer_alive(key), self._timer_fire(key))
        self._kick(inst)

    # ----- episodes --------------------------------------------------------------------------------------

    def _kick(self, inst: Instance) -> None:
        if inst.instance_id in self._episode_running:
            return
        if not inst.pending or inst.terminal or inst.suspended:
            return
        self._episode_running.add(inst.instance_id)
        self.engine.busy_inc()
        self._spawn(self._episode_loop(inst.instance_id))

    async def _episode_loop(self, instance_id: str) -> None:
        try:
            while True:
                inst = self.engine.instances.get(instance_id)
                if inst is None or not inst.pending or inst.terminal or inst.suspended:
                    return
                await self.engine.episodes.run(inst)
                self.engine.flush()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("internal error in episode of %s", instance_id)
        finally:
            self._episode_running.discard(instance_id)
            self.engine.busy_dec()

    # ----- work items ------------------------------------------------------------------------------------

    async def _run_work(self, key: WorkKey, item: dict[str, Any]) -> None:
        instance_id, execution_id, work_id = key
        try:
            event = await self.engine.work.run(int(work_id), item)
            if self.engine.deliver(instance_id, execution_id, event, work_id):
                self.engine.flush()
            else:
                self.engine.stats.activity_results_discarded += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("internal error running work item %s of %s", work_id, instance_id)
        finally:
            self._work_running.discard(key)
            self.engine.busy_dec()

    # ----- durable timers --------------------------------------------------------------------------------

    def _timer_alive(self, key: WorkKey) -> Callable[[], bool]:
        def alive() -> bool:
            inst = self.engine.instances.get(key[0])
            ok = inst is not None and inst.execution_id == key[1] and not inst.terminal and key[2] in inst.timers
            if not ok:
                self._armed.discard(key)
            return ok

        return alive

    def _timer_fire(self, key: WorkKey) -> Callable[[], None]:
        def fire() -> None:
            self._armed.discard(key)
            inst = self.engine.instances.get(key[0])
            if inst is None or inst.execution_id != key[1] or inst.terminal or key[2] not in inst.timers:
                return
            fire_at = inst.timers.pop(key[2])
            inst.pending.append(h.ev(h.TIMER_FIRED, self.engine.now_ts(), TimerId=int(key[2]), FireAt=fire_at))
            self.engine.mark_dirty(inst)
            self.engine.flush()

        return fire
