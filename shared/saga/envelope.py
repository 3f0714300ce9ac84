"""How a step's outcome crosses the durable boundary between an activity and its orchestrator.

Durable Functions loses exception types at that boundary: a failed activity reaches the
orchestrator as a bare ``Exception`` whose text is ``"<Reason> \\n <Details>"`` (host protocol §2.6.2).
So activities return business rejections as data, and raise transient and permanent errors with
a machine-readable marker inside the message, which ``decode_failure`` finds again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from shared.domain.errors import BusinessRejection, SyncError

MARKER = "[saga-error] "

JsonDict = dict[str, Any]


class StepFailed(Exception):
    """Raised by an activity: its message carries the error as JSON after ``MARKER``."""

    def __init__(self, error: JsonDict) -> None:
        super().__init__(MARKER + json.dumps(error, separators=(",", ":"), sort_keys=True))
        self.error = error


def run_activity(fn: Callable[[Any], Any], payload: Any) -> JsonDict:
    """Run one activity's plain code and wrap its outcome for the orchestrator.

    Returns ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}`` for a business
    rejection; raises ``StepFailed`` for transient and permanent errors. Other exceptions (bugs,
    unexpected library errors) propagate unchanged and count as transient for the engine:
    retrying is how at-least-once systems get past a crash, and the attempt limit bounds it.
    """
    try:
        result = fn(payload)
    except BusinessRejection as exc:
        return {"ok": False, "error": exc.to_dict()}
    except SyncError as exc:
        raise StepFailed(exc.to_dict()) from None
    if isinstance(result, Halt):
        return {"ok": True, "halt": result.reason, "result": _plain(result.result)}
    return {"ok": True, "result": _plain(result)}


def _plain(value: Any) -> Any:
    # Plain JSON only: a pydantic object would otherwise cross the boundary as the SDK's class
    # envelope, which binds the orchestration history to this module's path.
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def decode_failure(text: str) -> JsonDict:
    """Recover the error dict from a failed activity's exception text."""
    at = text.find(MARKER)
    if at >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(text, at + len(MARKER))
        except ValueError:
            value = None
        if isinstance(value, dict) and isinstance(value.get("kind"), str):
            return value
    # Not ours: a crash, a bug, or the host giving up. Keep the host's first line for people.
    reason = text.split(" \n ", 1)[0].strip() or "unknown failure"
    return {"kind": "transient", "service": "host", "code": "unexpected", "message": reason[:2000]}


class Halt:
    """Returned by a step's plain code to end the saga early with nothing to do (e.g. already synced)."""

    def __init__(self, reason: str, result: Any = None) -> None:
        self.reason = reason
        self.result = result
