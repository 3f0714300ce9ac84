"""Host clock: real UTC time, or a virtual clock that can jump forward to the next durable timer."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

# Orchestrators only ever see this format (protocol §2.2: UTC with `Z`; dateutil parses the fraction).
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def fmt_ts(dt: datetime) -> str:
    """Format an aware UTC datetime as a history timestamp."""
    return dt.astimezone(UTC).strftime(TS_FORMAT)


def fmt_status_ts(dt: datetime) -> str:
    """Status payload time format: `yyyy-MM-ddTHH:mm:ssZ`, no fraction (protocol §4.3)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive values are taken as UTC (the SDK appends `Z` blindly)."""
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    # Python < 3.11 style safety: trim fractions longer than 6 digits (.NET writes 7).
    if "." in t:
        head, _, rest = t.partition(".")
        digits = ""
        i = 0
        while i < len(rest) and rest[i].isdigit():
            digits += rest[i]
            i += 1
        t = head + "." + (digits[:6] or "0") + rest[i:]
    dt = datetime.fromisoformat(t)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


class Clock:
    """Real UTC clock. Subclasses may shift it forward; it never goes backwards."""

    virtual = False

    def __init__(self) -> None:
        self._offset = 0.0
        self.auto_advance = True

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self._offset, tz=UTC)

    def advance_to(self, when: datetime) -> bool:
        """Jump forward to `when` (virtual clocks only). Returns True if the clock moved."""
        return False

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def restore_offset(self, offset: float) -> None:
        """Restore a persisted offset (only ever forward)."""
        self._offset = max(self._offset, offset)


class VirtualClock(Clock):
    """Wall clock plus an offset that grows whenever the host is idle and a timer lies in the future."""

    virtual = True

    def advance_to(self, when: datetime) -> bool:
        now = self.now()
        if when <= now:
            return False
        self._offset += (when - now).total_seconds()
        return True

    def advance_by(self, delta: timedelta) -> None:
        self._offset += max(0.0, delta.total_seconds())


def make_clock(kind: str) -> Clock:
    """Create the clock named by the CLI/env setting (`real` or `virtual`)."""
    if kind == "virtual":
        return VirtualClock()
    if kind in ("", "real"):
        return Clock()
    raise ValueError(f"unknown clock kind {kind!r} (expected 'real' or 'virtual')")
