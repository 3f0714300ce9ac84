"""Rolling-window rate and concurrency accounting for the simulators (per key, time-scaled)."""

from __future__ import annotations

import math
import time
from collections import deque

__all__ = ["Window"]


class Window:
    """At most ``limit`` calls per rolling ``seconds``; ``wait`` says how long until one more is allowed."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._calls: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._calls and self._calls[0] <= now - self.seconds:
            self._calls.popleft()

    def wait(self, now: float | None = None) -> float:
        """0 if a call may happen now, else the seconds until one may."""
        now = time.monotonic() if now is None else now
        self._prune(now)
        if self.limit <= 0 or len(self._calls) < self.limit:
            return 0.0
        return max(0.001, self._calls[0] + self.seconds - now)

    def record(self, now: float | None = None) -> None:
        self._calls.append(time.monotonic() if now is None else now)

    def remaining(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        self._prune(now)
        return max(0, self.limit - len(self._calls))

    @staticmethod
    def retry_after(wait: float) -> str:
        """``Retry-After`` is whole seconds: round up so that a client honouring it is never early."""
        return str(max(1, math.ceil(wait)))
