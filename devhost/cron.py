"""NCRONTAB schedules (six fields `sec min hour day month dow`, UTC) and TimeSpan intervals for timer triggers."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")


def resolve_setting(expr: str) -> str:
    """`%NAME%` is replaced by the app setting (environment variable) NAME, as the host does."""

    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise ValueError(f"app setting {m.group(1)!r} referenced by schedule is not set")
        return value

    return re.sub(r"%([^%]+)%", sub, expr)


def _parse_field(text: str, index: int) -> frozenset[int]:
    lo, hi = _RANGES[index]
    names = _MONTHS if index == 4 else _DAYS if index == 5 else {}
    values: set[int] = set()
    for item in text.split(","):
        step = 1
        part = item
        if "/" in item:
            part, step_s = item.split("/", 1)
            step = int(step_s)
            if step <= 0:
                raise ValueError(f"bad step in {text!r}")
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = hi if step != 1 else start
        if index == 5:
            start, end = start % 7 if start == 7 else start, end if end != 7 else 6
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise ValueError(f"value out of range in {text!r}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int]) -> int:
    key = text.strip().upper()
    if key in names:
        return names[key]
    return int(key)


@dataclass(frozen=True)
class Schedule:
    seconds: frozenset[int] = frozenset()
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()  # 0 = Sunday
    interval: timedelta | None = None

    def next_after(self, after: datetime) -> datetime:
        """The first occurrence strictly after `after` (UTC)."""
        if self.interval is not None:
            return after + self.interval
        t = after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        limit = t + timedelta(days=366 * 5)
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
                continue
            # NCrontab requires both day-of-month and day-of-week to match.
            if t.day not in self.days or (t.weekday() + 1) % 7 not in self.weekdays:
                t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t = t.replace(second=0) + timedelta(minutes=1)
                continue
            if t.second not in self.seconds:
                t = t + timedelta(seconds=1)
                continue
            return t
        raise ValueError("schedule never fires")


def parse_schedule(expr: str) -> Schedule:
    """Parse a six-field NCRONTAB expression or a TimeSpan (`hh:mm:ss`, `d.hh:mm:ss`)."""
    text = resolve_setting(expr).strip()
    m = _TIMESPAN.match(text)
    if m:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
        interval = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if interval <= timedelta(0):
            raise ValueError(f"interval must be positive: {expr!r}")
        return Schedule(interval=interval)
    fields = text.split()
    if len(fields) != 6:
        raise ValueError(f"NCRONTAB expression must have 6 fields (sec min hour day month dow): {expr!r}")
    sec, minute, hour, day, month, dow = (_parse_field(f, i) for i, f in enumerate(fields))
    return Schedule(seconds=sec, minutes=minute, hours=hour, days=day, months=month, weekdays=dow)
