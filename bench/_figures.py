"""The benches' shared output convention: a ``figures`` list of {name, value, unit, goal, op, met}."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

OPS: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge, "<": operator.lt,
                                                  ">": operator.gt, "==": operator.eq}


def figure(name: str, value: float | int | None, unit: str = "", goal: float | None = None,
           op: str | None = None) -> dict[str, Any]:
    """One figure; with a goal, ``met`` says whether ``value op goal`` holds (no goal: ``met`` is None)."""
    if (goal is None) != (op is None):
        raise ValueError("a goal needs an op and an op needs a goal")
    if op is not None and op not in OPS:
        raise ValueError(f"unknown op {op!r} (known: {sorted(OPS)})")
    met = None if goal is None or op is None else value is not None and OPS[op](value, goal)
    return {"name": name, "value": value, "unit": unit, "goal": goal, "op": op, "met": met}
