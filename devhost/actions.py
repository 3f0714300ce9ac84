"""Decoding the SDK's orchestrator replies: action types, the flattened action tree, failure payloads (§2.3-§2.4)."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

OUT_OF_PROC_LABEL = "\n\n$OutOfProcData$:"
HTTP_ACTIVITY = "BuiltIn::HttpActivity"


class ActionType(IntEnum):
    """The SDK's `ActionType` (the extension's `AsyncActionType`), same names and numbers (§2.3)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10  # never emitted by the Python SDK
    WHEN_ANY = 11
    WHEN_ALL = 12


COMPOUND = (ActionType.WHEN_ANY, ActionType.WHEN_ALL)  # a tuple: compared with raw reply values
ACTIVITY_CALLS = frozenset({ActionType.CALL_ACTIVITY, ActionType.CALL_ACTIVITY_WITH_RETRY})
SUB_ORCHESTRATOR_CALLS = frozenset({ActionType.CALL_SUB_ORCHESTRATOR, ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY})
ENTITY_MESSAGES = frozenset({ActionType.CALL_ENTITY, ActionType.SIGNAL_ENTITY})

# action type -> (kind, DTFx action class used in non-determinism messages)
KINDS: dict[ActionType, tuple[str, str]] = {
    ActionType.CALL_ACTIVITY: ("activity", "ScheduleTaskOrchestratorAction"),
    ActionType.CALL_ACTIVITY_WITH_RETRY: ("activity", "ScheduleTaskOrchestratorAction"),
    ActionType.CALL_HTTP: ("activity", "ScheduleTaskOrchestratorAction"),
    ActionType.CREATE_TIMER: ("timer", "CreateTimerOrchestratorAction"),
    ActionType.CALL_SUB_ORCHESTRATOR: ("suborch", "CreateSubOrchestrationAction"),
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY: ("suborch", "CreateSubOrchestrationAction"),
    ActionType.CALL_ENTITY: ("event", "SendEventOrchestratorAction"),
    ActionType.SIGNAL_ENTITY: ("event", "SendEventOrchestratorAction"),
    ActionType.WAIT_FOR_EXTERNAL_EVENT: ("wait", ""),
    ActionType.CONTINUE_AS_NEW: ("can", ""),
}


def action_type(action: dict[str, Any]) -> ActionType | None:
    """The action's type, or None for a missing or unknown `actionType`."""
    number = int(action.get("actionType", -1))
    try:
        return ActionType(number)
    except ValueError:
        return None


def kind_of(action: dict[str, Any], unknown: tuple[str, str] = ("?", "")) -> tuple[str, str]:
    """(kind, DTFx action class) of a leaf action; `unknown` for types devhost does not schedule."""
    t = action_type(action)
    return KINDS.get(t, unknown) if t is not None else unknown


def flatten_actions(actions: list[Any]) -> list[dict[str, Any]]:
    """Depth-first leaves of the action tree; compound wrappers (WhenAny/WhenAll) are skipped (§2.7)."""
    out: list[dict[str, Any]] = []

    def walk(a: Any) -> None:
        if isinstance(a, list):
            for x in a:
                walk(x)
        elif isinstance(a, dict):
            if a.get("actionType") in COMPOUND:
                for c in a.get("compoundActions") or []:
                    walk(c)
            else:
                out.append(a)

    walk(actions)
    return out


def leaf_name(a: dict[str, Any]) -> str:
    """The name DTFx records for the leaf's scheduling event (compared on replay, §2.5)."""
    t = action_type(a)
    if t in ACTIVITY_CALLS or t in SUB_ORCHESTRATOR_CALLS:
        return str(a.get("functionName") or "")
    if t is ActionType.CALL_HTTP:
        return HTTP_ACTIVITY
    if t in ENTITY_MESSAGES:
        return "op"  # EventSent.Name is always "op" for entity messages (§2.6.6)
    if t is ActionType.WAIT_FOR_EXTERNAL_EVENT:
        return str(a.get("externalEventName") or "")
    return ""


def parse_failure(text: str) -> tuple[dict[str, Any] | None, str]:
    """Split the worker's `"Exception: {exc}\\n\\n$OutOfProcData$:{state}"` into the state and the error (§2.4)."""
    if OUT_OF_PROC_LABEL in text:
        head, _, payload = text.partition(OUT_OF_PROC_LABEL)
        try:
            state: dict[str, Any] = json.loads(payload)
            return state, str(state.get("error") or head)
        except ValueError:
            return None, head
    return None, text


def encode_context(context: dict[str, Any], input_text: str | None) -> str:
    """The orchestration context JSON (§2.1), built on a helper thread: the work grows with the history and on the
    event loop it would hold up every HTTP request queued behind it."""
    context["input"] = json.loads(input_text) if input_text is not None else None
    return json.dumps(context)


def decode_reply(text: str) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(text)
    return reply
