"""A thread-safe client-side rate and concurrency limiter, so that 429s are the exception."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["PausedTooLong", "RateLimiter"]


class PausedTooLong(Exception):
    """The server asked for a pause longer than a call should wait in-process (e.g. a daily limit)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(f"paused for {seconds:.0f} s more" + (f" ({reason} limit)" if reason else ""))
        self.seconds = seconds
        self.reason = reason


class RateLimiter:
    """At most ``calls`` starts per rolling ``period`` seconds and ``max_concurrent`` calls in flight.

    ``time_scale`` k shortens the period to ``period / k`` real seconds: a benchmark that runs the
    simulator's minute k times faster must run this clock k times faster too. The window is
    widened by a small ``margin`` because the server counts a call when it arrives, slightly
    after this process counted it, and a rolling window that ends too early gives a 429.
    Activities run in a thread pool, so one limiter is shared by every thread of a process.

    A server pause (``Retry-After``) longer than ``max_pause`` real seconds is not slept through:
    ``acquire`` raises ``PausedTooLong`` so that the caller fails the call as transient and the
    orchestration waits on a durable timer, instead of an activity holding a worker for hours.
    """

    def __init__(
        self,
        calls: int,
        period: float,
        *,
        max_concurrent: int | None = None,
        time_scale: float = 1.0,
        margin: float = 0.05,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if calls < 1 or period <= 0 or time_scale <= 0:
            raise ValueError("calls must be >= 1, period and time_scale > 0")
        if max_concurrent is not None and max_concurrent < 1:
            raise ValueError("max_concurrent must be >= 1")
        self.calls = calls
        self.window = period / time_scale * (1.0 + margin)
        self.max_concurrent = max_concurrent
        self._clock = clock
        self._starts: deque[float] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._blocked_until = 0.0
        self._pause_reason = ""
        self.max_pause = max_pause

    def _wait_time(self, now: float) -> float:
        """Seconds until a new call may start (0 if now); caller holds the lock."""
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        waits = [self._blocked_until - now]
        if len(self._starts) >= self.calls:
            waits.append(self._starts[0] + self.window - now)
        if self.max_concurrent is not None and self._in_flight >= self.max_concurrent:
            # Woken by notify when a call finishes; the timeout only bounds a missed wake-up.
            waits.append(1.0)
        return max(0.0, *waits)

    def acquire(self) -> None:
        """Block until a call may start, then count it as started and in flight.

        Raises ``PausedTooLong`` while a server pause of more than ``max_pause`` seconds lasts.
        """
        with self._cond:
            while True:
                now = self._clock()
                paused = self._blocked_until - now
                if paused > self.max_pause:
                    raise PausedTooLong(paused, self._pause_reason)
                wait = self._wait_time(now)
                if wait <= 0:
                    self._starts.append(now)
                    self._in_flight += 1
                    return
                self._cond.wait(timeout=wait)

    def release(self) -> None:
        """Mark one call as finished."""
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """``with limiter.slot(): send()``: one call, counted against both limits."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def pause(self, seconds: float, reason: str = "") -> None:
        """Start no call for ``seconds`` real seconds (the server's ``Retry-After``); ``reason`` names the limit."""
        with self._cond:
            until = self._clock() + max(0.0, seconds)
            if until > self._blocked_until:
                self._blocked_until, self._pause_reason = until, reason

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight
