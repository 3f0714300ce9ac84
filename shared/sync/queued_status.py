"""A deal orchestration's custom status: its transaction's status, and the batch its step waits for, if any.

The tracker (``orchestrators/tracking.py``) sets ``status`` and ``failed_step`` on each status change; a
batched step's attempt (``shared/sync/batched_attempt.py``) sets ``queued`` while it waits for its batch and
clears it once the reply (or its own timeout) came. Replay-safe: built only from the orchestration's own
values; the host stores the status at the end of each episode, so it shows while the deal waits.
"""

from __future__ import annotations

from typing import Any


def tracked(status: str, failed_step: str | None) -> dict[str, Any]:
    """The status the tracker sets: never queued (a status change happens between steps, not in a wait)."""
    return {"status": status, "failed_step": failed_step, "queued": None}


def queued(current: Any, kind: str, since: str, attempt: int) -> dict[str, Any]:
    """``current`` with its deal's step ``kind`` queued for a batch since ``since``."""
    base = current if isinstance(current, dict) else {}
    return {**base, "queued": {"step": kind, "since": since, "attempt": attempt}}


def unqueued(current: Any) -> dict[str, Any]:
    base = current if isinstance(current, dict) else {}
    return {**base, "queued": None}


def queued_of(custom_status: Any) -> dict[str, Any] | None:
    """What an orchestration's custom status says its deal waits for (None: no batch)."""
    value = custom_status.get("queued") if isinstance(custom_status, dict) else None
    return value if isinstance(value, dict) and value.get("step") else None
