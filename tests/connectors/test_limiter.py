"""The client-side limiter holds both the rate and the concurrency, across threads."""

from __future__ import annotations

import threading
import time

import pytest

from shared.connectors.limiter import PausedTooLong, RateLimiter


def test_limiter_never_starts_more_calls_than_the_rate_in_any_window() -> None:
    limiter = RateLimiter(5, 60.0, time_scale=300, margin=0.0)  # 5 calls per 0.2 s
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(4):
            with limiter.slot(), lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(5)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert len(starts) == 20
    assert starts[-1] - began >= 0.6  # 20 calls at 5 per 0.2 s need three full windows
    for i in range(len(starts) - 5):
        assert starts[i + 5] - starts[i] >= 0.2 - 0.03  # slack: a thread may note its start late


def test_limiter_never_lets_more_calls_run_at_once_than_allowed() -> None:
    limiter = RateLimiter(1000, 60.0, max_concurrent=3)
    running = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with limiter.slot():
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.05)
            with lock:
                running -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 3 and limiter.in_flight == 0


def test_limiter_pauses_after_a_retry_after() -> None:
    limiter = RateLimiter(100, 60.0)
    limiter.pause(0.3)
    started = time.monotonic()
    with limiter.slot():
        pass
    assert time.monotonic() - started >= 0.29


def test_time_scale_shortens_the_window() -> None:
    assert RateLimiter(60, 60.0, time_scale=60, margin=0.0).window == pytest.approx(1.0)
    with pytest.raises(ValueError):
        RateLimiter(0, 60.0)


def test_long_server_pause_is_handed_back_to_the_caller_instead_of_slept_in_process() -> None:
    limiter = RateLimiter(100, 60.0, max_pause=30.0)
    limiter.pause(3600)  # Xero's daily limit: Retry-After of an hour
    started = time.monotonic()
    with pytest.raises(PausedTooLong) as caught:
        limiter.acquire()
    assert time.monotonic() - started < 0.1
    assert caught.value.seconds == pytest.approx(3600, abs=1)
    assert limiter.in_flight == 0
