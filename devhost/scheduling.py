"""New actions of an orchestrator reply -> scheduling events, work items, child instances, entity messages (§2.6)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from devhost import history as h
from devhost.actions import (
    ACTIVITY_CALLS,
    ENTITY_MESSAGES,
    HTTP_ACTIVITY,
    SUB_ORCHESTRATOR_CALLS,
    ActionType,
    action_type,
    kind_of,
    leaf_name,
)
from devhost.entities import EntityScheduler, split_entity_id
from devhost.errors import InstanceExistsError, UnknownFunctionError
from devhost.loader import FunctionIndex
from devhost.model import Instance
from devhost.retries import remember_retry

_GUID_NS = uuid.UUID("9e952958-5e33-4daf-827f-2fa12937b875")

# start_instance(durable name, instance id, input text, parent) of the engine
StartChild = Callable[[str, str, str | None, dict[str, Any] | None], Instance]


class ActionScheduler:
    """Numbers each new leaf action as DTFx does and records what it asks for (the caller persists it)."""

    def __init__(self, index: FunctionIndex, entities: EntityScheduler, start_child: StartChild) -> None:
        self.index = index
        self.entities = entities
        self.start_child = start_child

    def unknown_function_text(self, name: str, kind: str) -> str:
        return (
            f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
            f"Additional info: The following are the known {kind} functions: {self.index.known(kind)}."
        )

    def orchestrator_name(self, name: str) -> str:
        info = self.index.orchestrators.get(name.lower())
        if info is None:
            raise UnknownFunctionError(self.unknown_function_text(name, "orchestrator"))
        return info.durable_name

    def validate(self, leaf: dict[str, Any]) -> str | None:
        """ThrowIfFunctionDoesNotExist, applied while replaying the action (§2.6.1)."""
        t = action_type(leaf)
        if t in ACTIVITY_CALLS:
            name, kind, known = str(leaf.get("functionName")), "activity", self.index.activities
        elif t in SUB_ORCHESTRATOR_CALLS:
            name, kind, known = str(leaf.get("functionName")), "orchestrator", self.index.orchestrators
        elif t in ENTITY_MESSAGES:
            name, _ = split_entity_id(str(leaf.get("instanceId")))
            kind, known = "entity", self.index.entities
        else:
            return None
        return None if name.lower() in known else self.unknown_function_text(name, kind)

    def apply_new_leaves(
        self,
        inst: Instance,
        leaves: list[dict[str, Any]],
        ts: str,
        sched: list[dict[str, Any]],
        can_input: list[str | None],
    ) -> str | None:
        """Schedule the leaves past `inst.leaves_done`; returns the failure text when one names an unknown function.
        A ContinueAsNew leaf's input goes to `can_input`."""
        new_leaves = leaves[inst.leaves_done :]
        for leaf in new_leaves:
            problem = self.validate(leaf)
            if problem is not None:
                return f"Orchestrator function '{inst.name}' failed: {problem}"
        for leaf in new_leaves:
            t = action_type(leaf)
            record: dict[str, Any] = {"k": kind_of(leaf)[0], "n": leaf_name(leaf), "id": None}
            inst.leaf_record.append(record)
            inst.leaves_done += 1
            if t is ActionType.WAIT_FOR_EXTERNAL_EVENT:
                continue  # external-event waits take no sequence id
            if t is ActionType.CONTINUE_AS_NEW:
                can_input.append(leaf.get("input"))
                continue
            sid = inst.allocate_id()
            record["id"] = sid
            self._schedule_leaf(inst, sid, t, leaf, ts, sched)
        return None

    def _schedule_leaf(
        self, inst: Instance, sid: int, t: ActionType | None, leaf: dict[str, Any], ts: str, sched: list[dict[str, Any]]
    ) -> None:
        if t in ACTIVITY_CALLS:
            self.schedule_activity(inst, sid, str(leaf["functionName"]), leaf.get("input"), ts, sched)
            if t is ActionType.CALL_ACTIVITY_WITH_RETRY:
                remember_retry(inst, sid, "activity", leaf)
        elif t is ActionType.CALL_HTTP:
            sched.append(h.ev(h.TASK_SCHEDULED, ts, sid, Name=HTTP_ACTIVITY, Version="", Input=None))
            inst.inflight[str(sid)] = {"kind": "http", "request": leaf.get("httpRequest")}
        elif t is ActionType.CREATE_TIMER:
            fire_at = str(leaf.get("fireAt"))
            sched.append(h.ev(h.TIMER_CREATED, ts, sid, FireAt=fire_at))
            if not leaf.get("isCanceled"):
                inst.timers[str(sid)] = fire_at
        elif t in SUB_ORCHESTRATOR_CALLS:
            given = leaf.get("instanceId")
            self.schedule_suborch(
                inst, sid, str(leaf["functionName"]), leaf.get("input"), str(given) if given else None, ts, sched
            )
            if t is ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY:
                remember_retry(inst, sid, "suborch", leaf)
        elif t in ENTITY_MESSAGES:
            self.send_entity_message(inst, sid, leaf, signal=(t is ActionType.SIGNAL_ENTITY), ts=ts, sched=sched)

    def schedule_attempt(
        self, inst: Instance, sid: int, r: dict[str, Any], ts: str, sched: list[dict[str, Any]]
    ) -> None:
        """The next attempt of a retry action (state kept by `retries.remember_retry`)."""
        if r["kind"] == "activity":
            self.schedule_activity(inst, sid, str(r["name"]), r.get("input"), ts, sched)
        else:
            given = r.get("instance_id")
            self.schedule_suborch(inst, sid, str(r["name"]), r.get("input"), str(given) if given else None, ts, sched)

    def schedule_activity(
        self, inst: Instance, sid: int, name: str, input_text: str | None, ts: str, sched: list[dict[str, Any]]
    ) -> None:
        sched.append(h.ev(h.TASK_SCHEDULED, ts, sid, Name=name, Version="", Input=json.dumps([input_text])))
        inst.inflight[str(sid)] = {"kind": "activity", "name": name, "input": input_text}

    def schedule_suborch(
        self,
        inst: Instance,
        sid: int,
        name: str,
        input_text: str | None,
        given_id: str | None,
        ts: str,
        sched: list[dict[str, Any]],
    ) -> None:
        # DTFx names unnamed children "<parent ExecutionId>:<seq id>" (§2.6.7).
        child_id = given_id or f"{inst.execution_id}:{sid}"
        sched.append(
            h.ev(h.SUB_ORCHESTRATION_CREATED, ts, sid, Name=name, Version="", InstanceId=child_id, Input=input_text)
        )
        child_input = json.dumps(input_text) if input_text is not None else None
        parent = {"instance_id": inst.instance_id, "execution_id": inst.execution_id, "task_id": sid, "name": inst.name}
        try:
            self.start_child(self.orchestrator_name(name), child_id, child_input, parent)
        except (InstanceExistsError, UnknownFunctionError) as exc:
            reason = str(exc)
            details = h.failure_details(reason)
            inst.pending.append(
                h.ev(h.SUB_ORCHESTRATION_FAILED, ts, TaskScheduledId=sid, Reason=reason, Details=details)
            )

    def send_entity_message(
        self, inst: Instance, sid: int, leaf: dict[str, Any], signal: bool, ts: str, sched: list[dict[str, Any]]
    ) -> None:
        entity_id = str(leaf["instanceId"])
        name, key = split_entity_id(entity_id)
        # Deterministic request GUID, like the extension's NewGuid (any unique value works for the SDK).
        request_id = str(uuid.uuid5(_GUID_NS, f"{inst.instance_id}:{inst.execution_id}:{sid}"))
        action_input = leaf.get("input")
        op_input = json.dumps(action_input) if action_input is not None else None  # second layer (§1)
        message: dict[str, Any] = {
            "op": leaf.get("operation"),
            "signal": signal,
            "id": request_id,
            "parent": None if signal else inst.instance_id,
            "parentExecution": None if signal else inst.execution_id,
            "Timestamp": ts,
        }
        if op_input is not None:
            message["input"] = op_input
        sched.append(h.ev(h.EVENT_SENT, ts, sid, InstanceId=entity_id, Name="op", Input=json.dumps(message)))
        request = {
            "op": leaf.get("operation"),
            "input": op_input,
            "id": request_id,
            "parent": message["parent"],
            "parentExecution": message["parentExecution"],
            "signal": signal,
        }
        self.entities.enqueue(name, key, request)
