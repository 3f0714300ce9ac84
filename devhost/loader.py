"""The host's view of the app: the functions the worker indexed (§8.2), grouped by trigger kind (§5.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devhost.worker import FunctionMetadata


@dataclass
class FunctionInfo:
    """One indexed function: its worker function id, effective durable/route name and bindings."""

    name: str  # function name (@function_name or __name__)
    kind: str  # orchestrator | activity | entity | http | timer | other
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    function_id: str  # the worker's id for InvocationRequest.function_id
    durable_name: str = ""  # binding `orchestration`/`activity`/`entityName`, else the function name
    client_params: list[str] = field(default_factory=list)  # durableClient binding names

    @property
    def trigger_name(self) -> str:
        """The trigger binding's parameter name: the ParameterBinding name the worker matches."""
        return str(self.trigger.get("name"))


@dataclass
class FunctionIndex:
    orchestrators: dict[str, FunctionInfo] = field(default_factory=dict)  # keys lower-cased (§5.1)
    activities: dict[str, FunctionInfo] = field(default_factory=dict)
    entities: dict[str, FunctionInfo] = field(default_factory=dict)
    http: list[FunctionInfo] = field(default_factory=list)
    timers: list[FunctionInfo] = field(default_factory=list)
    other: list[FunctionInfo] = field(default_factory=list)

    def find(self, name: str) -> FunctionInfo | None:
        """A function by its function name, case-insensitively like the Functions host (exact match first)."""
        everything = [
            *self.orchestrators.values(),
            *self.activities.values(),
            *self.entities.values(),
            *self.http,
            *self.timers,
            *self.other,
        ]
        exact = next((f for f in everything if f.name == name), None)
        return exact or next((f for f in everything if f.name.casefold() == name.casefold()), None)

    def known(self, kind: str) -> str:
        table = {"orchestrator": self.orchestrators, "activity": self.activities, "entity": self.entities}[kind]
        return ", ".join(f"'{f.durable_name}'" for f in table.values())


def index_functions(functions: list[FunctionMetadata]) -> FunctionIndex:
    """Group the worker's function metadata by trigger kind, keyed by durable name like the extension (§5.1)."""
    index = FunctionIndex()
    for f in functions:
        tdict = f.trigger
        if not tdict:
            continue
        name = f.name or "unnamed"
        ttype = str(tdict.get("type", ""))
        info = FunctionInfo(
            name=name,
            kind="other",
            trigger=tdict,
            bindings=f.bindings,
            function_id=f.function_id,
            durable_name=name,
        )
        info.client_params = [str(b["name"]) for b in f.bindings if b.get("type") == "durableClient"]
        if ttype == "orchestrationTrigger":
            info.kind = "orchestrator"
            info.durable_name = str(tdict.get("orchestration") or name)
            index.orchestrators[info.durable_name.lower()] = info
        elif ttype == "activityTrigger":
            info.kind = "activity"
            info.durable_name = str(tdict.get("activity") or name)
            index.activities[info.durable_name.lower()] = info
        elif ttype == "entityTrigger":
            info.kind = "entity"
            info.durable_name = str(tdict.get("entityName") or name)
            index.entities[info.durable_name.lower()] = info
        elif ttype == "httpTrigger":
            info.kind = "http"
            index.http.append(info)
        elif ttype == "timerTrigger":
            info.kind = "timer"
            index.timers.append(info)
        else:
            index.other.append(info)
    return index
