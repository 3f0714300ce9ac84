"""DTFx history event shapes (protocol §2.2) and the filtered `historyEvents` view of the status API (§4.3)."""

from __future__ import annotations

import json
from typing import Any

Event = dict[str, Any]

EXECUTION_STARTED = 0
EXECUTION_COMPLETED = 1
EXECUTION_TERMINATED = 3
TASK_SCHEDULED = 4
TASK_COMPLETED = 5
TASK_FAILED = 6
SUB_ORCHESTRATION_CREATED = 7
SUB_ORCHESTRATION_COMPLETED = 8
SUB_ORCHESTRATION_FAILED = 9
TIMER_CREATED = 10
TIMER_FIRED = 11
ORCHESTRATOR_STARTED = 12
ORCHESTRATOR_COMPLETED = 13
EVENT_SENT = 14
EVENT_RAISED = 15
CONTINUE_AS_NEW = 16
EXECUTION_SUSPENDED = 19
EXECUTION_RESUMED = 20

EVENT_NAMES = {
    0: "ExecutionStarted",
    1: "ExecutionCompleted",
    2: "ExecutionFailed",
    3: "ExecutionTerminated",
    4: "TaskScheduled",
    5: "TaskCompleted",
    6: "TaskFailed",
    7: "SubOrchestrationInstanceCreated",
    8: "SubOrchestrationInstanceCompleted",
    9: "SubOrchestrationInstanceFailed",
    10: "TimerCreated",
    11: "TimerFired",
    12: "OrchestratorStarted",
    13: "OrchestratorCompleted",
    14: "EventSent",
    15: "EventRaised",
    16: "ContinueAsNew",
    17: "GenericEvent",
    18: "HistoryState",
    19: "ExecutionSuspended",
    20: "ExecutionResumed",
}

# OrchestrationStatus ints used in ExecutionCompleted (§2.2).
ORCH_STATUS_INT = {
    "Running": 0,
    "Completed": 1,
    "ContinuedAsNew": 2,
    "Failed": 3,
    "Canceled": 4,
    "Terminated": 5,
    "Pending": 6,
    "Suspended": 7,
}


def ev(event_type: int, ts: str, event_id: int = -1, **fields: Any) -> Event:
    """Every event carries EventType, EventId, IsPlayed and Timestamp: the SDK requires all four (§2.1)."""
    e: Event = {"EventType": event_type, "EventId": event_id, "IsPlayed": False, "Timestamp": ts}
    e.update(fields)
    return e


def execution_started(
    ts: str,
    instance_id: str,
    execution_id: str,
    name: str,
    input_text: str | None,
    parent: dict[str, Any] | None,
    version: str = "",
) -> Event:
    # `Version` is mandatory: the SDK reads history[1].Version (§2.1).
    return ev(
        EXECUTION_STARTED,
        ts,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Name=name,
        Version=version or "",
        Input=input_text,
        Tags=None,
    )


def failure_details(message: str) -> str:
    """A Newtonsoft-like System.Exception JSON, as the host puts in `Details` (§2.6.2)."""
    return json.dumps(
        {
            "$type": "System.Exception, System.Private.CoreLib",
            "ClassName": "System.Exception",
            "Message": message,
            "Data": None,
            "InnerException": None,
            "HelpURL": None,
            "StackTraceString": None,
            "RemoteStackTraceString": None,
            "RemoteStackIndex": 0,
            "ExceptionMethod": None,
            "HResult": -2146233088,
            "Source": None,
            "WatsonBuckets": None,
        },
        separators=(",", ":"),
    )


def status_history_view(history: list[Event], show_input: bool, show_output: bool) -> list[dict[str, Any]]:
    """Filtered view for `showHistory=true` (§4.3): string EventType, no Orchestrator* events, no EventId/IsPlayed,
    FunctionName/ScheduledTime merged into completions, Input/Result only on request."""
    scheduled: dict[int, Event] = {}
    out: list[dict[str, Any]] = []
    for e in history:
        et = int(e["EventType"])
        if et in (TASK_SCHEDULED, SUB_ORCHESTRATION_CREATED, TIMER_CREATED):
            scheduled[int(e["EventId"])] = e
        if et in (ORCHESTRATOR_STARTED, ORCHESTRATOR_COMPLETED):
            continue
        view: dict[str, Any] = {"EventType": EVENT_NAMES.get(et, str(et))}
        for key, value in e.items():
            if key in ("EventType", "EventId", "IsPlayed", "OrchestrationInstance", "ParentInstance", "Tags"):
                continue
            if key == "Input" and not show_input:
                continue
            if key == "Result" and not show_output:
                continue
            view[key] = _parse_token(value) if key in ("Input", "Result") else value
        ref = e.get("TaskScheduledId")
        if ref is not None and int(ref) in scheduled:
            src = scheduled[int(ref)]
            view["FunctionName"] = src.get("Name")
            view["ScheduledTime"] = src.get("Timestamp")
        out.append(view)
    return out


def _parse_token(value: Any) -> Any:
    """ParseToJToken: JSON if it parses, else the raw string (§4.3)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


parse_token = _parse_token
