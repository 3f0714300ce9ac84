"""Loads `function_app.py` like the Python worker (protocol §5.2) and indexes its functions by kind."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func


@dataclass
class FunctionInfo:
    """One indexed function: its effective durable/route name, trigger dict and callable."""

    name: str  # function name (@function_name or __name__)
    kind: str  # orchestrator | activity | entity | http | timer | other
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    fn: Callable[..., Any]
    durable_name: str = ""  # binding `orchestration`/`activity`/`entityName`, else the function name
    client_params: list[str] = field(default_factory=list)  # durableClient binding names
    accepts_context: bool = False
    is_async: bool = False


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


def _accepts_context(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "context" in params


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__wrapped__", None))


def load_module(app_dir: Path) -> Any:
    """Import DIR/function_app.py as module `function_app` with DIR on sys.path (as the worker does)."""
    path = app_dir / "function_app.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    app_dir_s = str(app_dir.resolve())
    if app_dir_s not in sys.path:
        sys.path.insert(0, app_dir_s)
    spec = importlib.util.spec_from_file_location("function_app", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)
    return module


def find_register(module: Any) -> func.FunctionRegister:
    for value in vars(module).values():
        if isinstance(value, func.FunctionRegister):
            return value
    raise LookupError("function_app.py defines no FunctionRegister (FunctionApp/DFApp) instance")


def index_functions(register: func.FunctionRegister) -> FunctionIndex:
    index = FunctionIndex()
    for f in register.get_functions():
        trigger = f.get_trigger()
        if trigger is None:
            continue
        tdict: dict[str, Any] = dict(trigger.get_dict_repr())
        bindings = [dict(b.get_dict_repr()) for b in f.get_bindings()]
        name = f.get_function_name() or "unnamed"
        fn = f.get_user_function()
        ttype = str(tdict.get("type", ""))
        info = FunctionInfo(
            name=name,
            kind="other",
            trigger=tdict,
            bindings=bindings,
            fn=fn,
            durable_name=name,
            accepts_context=_accepts_context(fn),
            is_async=_is_async(fn),
        )
        info.client_params = [str(b["name"]) for b in bindings if b.get("type") == "durableClient"]
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


def load_app(app_dir: Path) -> FunctionIndex:
    """Import the app and index its functions."""
    return index_functions(find_register(load_module(app_dir)))
