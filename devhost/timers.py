"""Durable timer service: a heap of due times, fired on the host clock; drives the virtual clock's jumps."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from devhost.clock import Clock


@dataclass(order=True)
class _Entry:
    when: datetime
    seq: int
    alive: Callable[[], bool] = field(compare=False)
    fire: Callable[[], None] = field(compare=False)


class TimerService:
    """Fires callbacks at or after their due time. With a virtual clock and auto-advance on, whenever the host
    is idle (no episode, activity or entity batch running or queued) and the earliest live timer lies in the
    future, the clock jumps to it, so timer-heavy tests don't sleep."""

    def __init__(self, clock: Clock, idle: Callable[[], bool]) -> None:
        self._clock = clock
        self._idle = idle
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self.jumps = 0

    def add(self, when: datetime, alive: Callable[[], bool], fire: Callable[[], None]) -> None:
        heapq.heappush(self._heap, _Entry(when, next(self._seq), alive, fire))
        self._wake.set()

    def poke(self) -> None:
        """Re-evaluate now (the host became idle, or the clock settings changed)."""
        self._wake.set()

    def next_due(self) -> datetime | None:
        self._drop_dead()
        return self._heap[0].when if self._heap else None

    def pending_count(self) -> int:
        self._drop_dead()
        return len(self._heap)

    def _drop_dead(self) -> None:
        while self._heap and not self._heap[0].alive():
            heapq.heappop(self._heap)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            self._drop_dead()
            if not self._heap:
                await self._wake.wait()
                continue
            head = self._heap[0]
            now = self._clock.now()
            if head.when <= now:
                heapq.heappop(self._heap)
                head.fire()
                # Let the work this fired start before deciding about the next jump.
                await asyncio.sleep(0)
                continue
            if self._clock.virtual and self._clock.auto_advance and self._idle():
                # Yield once so callbacks scheduled in this loop iteration can register as busy.
                await asyncio.sleep(0)
                if self._idle() and self._heap and self._heap[0] is head:
                    self._clock.advance_to(head.when)
                    self.jumps += 1
                    continue
            delay = max(0.0, (head.when - now).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(delay, 3600.0) + 0.001)
