"""Fault-injection rules, set through `/_devhost/faults`: activities (crash_after, duplicate, delay) and the
task hub refusing to start an orchestration (refuse_start: the management API answers 503, as when its
storage cannot be reached)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACTIVITY_MODES = ("crash_after", "duplicate", "delay")
START_MODES = ("refuse_start",)  # ``activity`` then names the orchestrator function
MODES = ACTIVITY_MODES + START_MODES


@dataclass
class FaultRule:
    activity: str
    mode: str
    times: int = 1  # executions it still applies to; -1 = always
    delay_ms: int = 0
    fired: int = 0
    skip: int = 0  # matching executions still to let through untouched before the rule applies
    # Only executions whose input (as compact JSON text) contains this: one kind of a shared activity's calls,
    # e.g. '"kind":"invoice"' of run_batch.
    input_contains: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "activity": self.activity,
            "mode": self.mode,
            "times": self.times,
            "delay_ms": self.delay_ms,
            "fired": self.fired,
            "skip": self.skip,
            "input_contains": self.input_contains,
        }


class FaultRegistry:
    """Ordered list of rules; the first live rule matching an activity name applies to one execution."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    @staticmethod
    def parse(body: Any) -> FaultRule:
        if not isinstance(body, dict):
            raise ValueError("fault must be a JSON object")
        activity = body.get("activity")
        mode = body.get("mode")
        if not isinstance(activity, str) or not activity:
            raise ValueError("'activity' (string, or '*' for all) is required")
        if mode not in MODES:
            raise ValueError(f"'mode' must be one of {', '.join(MODES)}")
        times = body.get("times", 1)
        delay_ms = body.get("delay_ms", 0)
        if not isinstance(times, int) or (times < 1 and times != -1):
            raise ValueError("'times' must be a positive integer or -1")
        if not isinstance(delay_ms, int) or delay_ms < 0:
            raise ValueError("'delay_ms' must be a non-negative integer")
        skip = body.get("skip", 0)
        if not isinstance(skip, int) or skip < 0:
            raise ValueError("'skip' must be a non-negative integer")
        contains = body.get("input_contains", "")
        if not isinstance(contains, str):
            raise ValueError("'input_contains' must be a string")
        return FaultRule(activity=activity, mode=mode, times=times, delay_ms=delay_ms, skip=skip,
                         input_contains=contains)

    def add(self, rule: FaultRule) -> None:
        self._rules.append(rule)

    def clear(self) -> None:
        self._rules.clear()

    def list(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self._rules]

    def take(self, activity: str, modes: tuple[str, ...] = ACTIVITY_MODES, input_text: str = "") -> FaultRule | None:
        """Consume one application of the first live rule of one of ``modes`` for `activity` (names are
        case-insensitive) whose ``input_contains`` is in ``input_text``."""
        for rule in self._rules:
            if rule.times == 0 or rule.mode not in modes:
                continue
            if rule.activity != "*" and rule.activity.lower() != activity.lower():
                continue
            if rule.input_contains and rule.input_contains not in input_text:
                continue
            if rule.skip > 0:
                rule.skip -= 1
                continue
            if rule.times > 0:
                rule.times -= 1
            rule.fired += 1
            return rule
        return None
