"""Retries of `call_*_with_retry` as DTFx's RetryInterceptor numbers them: failure, timer, next attempt (§2.6.3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from devhost import history as h
from devhost.clock import fmt_ts
from devhost.model import Instance


def remember_retry(inst: Instance, sid: int, kind: str, leaf: dict[str, Any]) -> None:
    """Keep what the next attempts of the retry action with id `sid` need (`kind`: "activity" or "suborch")."""
    opts = leaf.get("retryOptions") or {}
    inst.retries[str(sid)] = {
        "kind": kind,
        "name": leaf.get("functionName"),
        "input": leaf.get("input"),
        "instance_id": leaf.get("instanceId"),
        # The SDK never sends backoffCoefficient, so the delay is constant (§2.3, CallActivityWithRetry).
        "interval_ms": int(opts.get("firstRetryIntervalInMilliseconds", 0)),
        "max": int(opts.get("maxNumberOfAttempts", 1)),
        "attempts": 1,
    }
    inst.retry_by_attempt[str(sid)] = str(sid)


def is_retry_event(inst: Instance, e: dict[str, Any]) -> bool:
    """A failed attempt of a retry action, or the firing of a timer between two attempts."""
    et = e["EventType"]
    if et in (h.TASK_FAILED, h.SUB_ORCHESTRATION_FAILED):
        return str(e.get("TaskScheduledId")) in inst.retry_by_attempt
    if et == h.TIMER_FIRED:
        return str(e.get("TimerId")) in inst.retry_timers
    return False


def retry_events_first(inst: Instance, new: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the retry events, all events with the retry events first).

    Retry-related events go first so that the ids DTFx's RetryInterceptor allocates line up with the SDK's
    RetryAbleTask before any new user action is numbered (§2.7, ordering rule)."""
    retry_first = [e for e in new if is_retry_event(inst, e)]
    return retry_first, retry_first + [e for e in new if not is_retry_event(inst, e)]


def forget_succeeded(inst: Instance, events: list[dict[str, Any]]) -> None:
    """A retry action whose attempt completed needs no more attempts."""
    for e in events:
        if e["EventType"] in (h.TASK_COMPLETED, h.SUB_ORCHESTRATION_COMPLETED):
            key = inst.retry_by_attempt.pop(str(e.get("TaskScheduledId")), None)
            if key is not None:
                inst.retries.pop(key, None)


def on_retry_event(
    inst: Instance, e: dict[str, Any], ts_dt: datetime, ts: str, sched: list[dict[str, Any]]
) -> tuple[int, dict[str, Any]] | None:
    """DTFx RetryInterceptor (§2.6.3): a failed attempt creates a timer (also after the last attempt); when it
    fires, the next attempt gets a new id, or nothing happens and the SDK surfaces the error.

    Returns (new attempt id, retry state) when the caller must schedule the next attempt."""
    if e["EventType"] in (h.TASK_FAILED, h.SUB_ORCHESTRATION_FAILED):
        key = inst.retry_by_attempt.pop(str(e["TaskScheduledId"]))
        r = inst.retries.get(key)
        if r is None:
            return None
        tid = inst.allocate_id()
        fire_at = fmt_ts(ts_dt + timedelta(milliseconds=int(r["interval_ms"])))
        inst.timers[str(tid)] = fire_at
        inst.retry_timers[str(tid)] = key
        sched.append(h.ev(h.TIMER_CREATED, ts, tid, FireAt=fire_at))
    elif e["EventType"] == h.TIMER_FIRED:
        key = inst.retry_timers.pop(str(e["TimerId"]))
        r = inst.retries.get(key)
        if r is None:
            return None
        if int(r["attempts"]) >= int(r["max"]):
            inst.retries.pop(key, None)
            return None
        r["attempts"] = int(r["attempts"]) + 1
        sid = inst.allocate_id()
        inst.retry_by_attempt[str(sid)] = key
        return sid, r
    return None
