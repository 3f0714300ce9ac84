"""Replay checks: the replay's actions against the recorded scheduling events, with DTFx's texts (§2.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devhost import history as h
from devhost.actions import kind_of, leaf_name
from devhost.model import Instance

NONDET_PREFIX = "Non-Deterministic workflow detected: "
_NONDET_TAIL = "Was a change made to the orchestrator code after this instance had already started running?"
_SCHEDULING_EVENTS = (h.TASK_SCHEDULED, h.TIMER_CREATED, h.SUB_ORCHESTRATION_CREATED, h.EVENT_SENT)


def nondeterminism_message(old: dict[str, Any], cur: dict[str, Any] | None, old_event: dict[str, Any]) -> str | None:
    """DTFx TaskOrchestrationContext.Handle*Event texts (§2.5), or None when the replay matches."""
    message = _MESSAGES.get(old["k"])
    return message(old["id"], old["n"], cur, old_event) if message is not None else None


def _activity_message(sid: Any, name: str, cur: dict[str, Any] | None, old_event: dict[str, Any]) -> str | None:
    """An activity (or durable HTTP) task that the replay no longer schedules the same way."""
    if cur is None:
        return (
            f"A previous execution of this orchestration scheduled an activity task with sequence ID {sid} "
            f"and name '{name}' (version ''), but the current replay execution hasn't (yet?) scheduled "
            f"this task. {_NONDET_TAIL}"
        )
    if cur["k"] != "activity":
        return (
            f"A previous execution of this orchestration scheduled an activity task with sequence number "
            f"{sid} named '{name}', but the current orchestration replay instead produced a {cur['cls']} "
            f"action with this sequence number. {_NONDET_TAIL}"
        )
    if cur["n"].lower() != name.lower():
        # DTFx really has two spaces before "Was" here.
        return (
            f"A previous execution of this orchestration scheduled an activity task with sequence number "
            f"{sid} named '{name}', but the current orchestration replay instead scheduled an activity "
            f"task named '{cur['n']}' with this sequence number.  {_NONDET_TAIL}"
        )
    return None


def _timer_message(sid: Any, name: str, cur: dict[str, Any] | None, old_event: dict[str, Any]) -> str | None:
    """A timer that the replay no longer creates."""
    if cur is None:
        return (
            f"A previous execution of this orchestration scheduled a timer task with sequence number {sid} "
            f"but the current replay execution hasn't (yet?) scheduled this task. {_NONDET_TAIL}"
        )
    if cur["k"] != "timer":
        return (
            f"A previous execution of this orchestration scheduled a timer task with sequence number {sid} "
            f"named but the current orchestration replay instead produced a {cur['cls']} action with "
            f"this sequence number. {_NONDET_TAIL}"
        )
    return None


def _suborch_message(sid: Any, name: str, cur: dict[str, Any] | None, old_event: dict[str, Any]) -> str | None:
    """A sub-orchestration that the replay no longer schedules the same way."""
    child = old_event.get("InstanceId", "")
    head = (
        f"A previous execution of this orchestration scheduled a sub-orchestration task with sequence ID "
        f"{sid} and name '{name}' (version '', instance ID '{child}'), "
    )
    if cur is None:
        return head + f"but the current replay execution hasn't (yet?) scheduled this task. {_NONDET_TAIL}"
    if cur["k"] != "suborch":
        return head + (
            f"but the current orchestration replay instead produced a {cur['cls']} action at this "
            f"sequence number. {_NONDET_TAIL}"
        )
    if cur["n"].lower() != name.lower():
        return head + (
            f"but the current orchestration replay instead scheduled a sub-orchestration task "
            f"with name {cur['n']} at this sequence number. {_NONDET_TAIL}"
        )
    return None


def _event_message(sid: Any, name: str, cur: dict[str, Any] | None, old_event: dict[str, Any]) -> str | None:
    """An entity message (EventSent) that the replay no longer sends."""
    target = old_event.get("InstanceId", "")
    if cur is None:
        return (
            f"A previous execution of this orchestration scheduled a send event task with sequence ID {sid}, "
            f"type 'EventSent' name '{name}', instance ID '{target}', but the current replay execution "
            f"hasn't (yet?) scheduled this task. Was a change made to the orchestrator code after this "
            f"instance had already started running?"
        )
    if cur["k"] != "event":
        return (
            f"A previous execution of this orchestration scheduled a send event task with sequence ID {sid}, "
            f"type 'EventSent', name '{name}', instance ID '{target}', but the current orchestration replay "
            f"instead scheduled a {cur['cls']} task at this sequence number. {_NONDET_TAIL}"
        )
    return None


_MESSAGES: dict[str, Callable[[Any, str, dict[str, Any] | None, dict[str, Any]], str | None]] = {
    "activity": _activity_message,
    "timer": _timer_message,
    "suborch": _suborch_message,
    "event": _event_message,
}


def check_determinism(inst: Instance, leaves: list[dict[str, Any]], strict_count: bool) -> str | None:
    """Compare the replay's id-consuming actions, in order, with the recorded scheduling events (§2.5).

    `strict_count`: a replay that stops short of the recorded actions is non-deterministic, unless the
    orchestrator failed (its reply then holds only the actions issued before the exception)."""
    old = [r for r in inst.leaf_record if r.get("id") is not None]
    if not old:
        return None
    cur: list[dict[str, Any]] = []
    for a in leaves:
        kind, cls = kind_of(a, unknown=("?", "UnknownAction"))
        if kind not in ("wait", "can"):
            cur.append({"k": kind, "n": leaf_name(a), "cls": cls})
    events = {int(e["EventId"]): e for e in inst.history if e["EventType"] in _SCHEDULING_EVENTS}
    for j, rec in enumerate(old):
        if j >= len(cur):
            if not strict_count:
                return None
            return nondeterminism_message(rec, None, events.get(int(rec["id"]), {}))
        msg = nondeterminism_message(rec, cur[j], events.get(int(rec["id"]), {}))
        if msg is not None:
            return msg
    return None
