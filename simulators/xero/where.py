"""The subset of Xero's ``where`` filter language the simulator understands.

Clauses ``Field==value`` / ``Field!=value`` (value: ``"text"`` with ``\\"`` escapes, ``Guid("...")``,
a number, true/false), ``Field.Contains("x")`` / ``StartsWith`` / ``EndsWith``, joined by
``AND``/``&&`` and ``OR``/``||`` (AND binds tighter). Text compares case-insensitively, as in Xero.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["WhereError", "compile_where", "where_fields"]

_CLAUSE = re.compile(
    r"^\s*(?P<field>[A-Za-z][\w.]*?)\s*(?P<op>==|!=)\s*"
    r'(?:"(?P<text>(?:[^"\\]|\\.)*)"|Guid\("(?P<guid>[^"]*)"\)|(?P<bare>[\w.+-]+))\s*$'
)
_METHOD = re.compile(
    r'^\s*(?P<field>[A-Za-z][\w.]*)\.(?P<fn>Contains|StartsWith|EndsWith)\("(?P<text>(?:[^"\\]|\\.)*)"\)\s*$'
)


class WhereError(ValueError):
    """A ``where`` the simulator cannot parse (Xero answers 400)."""


def _split(text: str, words: tuple[str, ...]) -> list[str]:
    """Split on any of ``words`` outside double quotes."""
    parts, buf, i, quoted = [], [], 0, False
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quoted:
            buf.append(text[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if not quoted:
            hit = next((w for w in words if text.startswith(w, i)), None)
            if hit:
                parts.append("".join(buf))
                buf = []
                i += len(hit)
                continue
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def _lookup(record: dict[str, Any], field: str) -> Any:
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _clause(text: str) -> Callable[[dict[str, Any]], bool]:
    match = _METHOD.match(text)
    if match:
        field, fn, needle = match["field"], match["fn"], _unescape(match["text"]).lower()

        def method(record: dict[str, Any]) -> bool:
            have = str(_lookup(record, field) or "").lower()
            return {
                "Contains": needle in have,
                "StartsWith": have.startswith(needle),
                "EndsWith": have.endswith(needle),
            }[fn]

        return method
    match = _CLAUSE.match(text)
    if not match:
        raise WhereError(f"cannot parse where clause: {text.strip()}")
    field, op = match["field"], match["op"]
    if match["text"] is not None:
        want: Any = _unescape(match["text"]).lower()
    elif match["guid"] is not None:
        want = match["guid"].lower()
    else:
        bare = match["bare"]
        want = {"true": True, "false": False, "null": None}.get(bare.lower(), bare.lower())

    def compare(record: dict[str, Any]) -> bool:
        have = _lookup(record, field)
        if isinstance(have, str):
            have = have.lower()
        elif have is not None and not isinstance(have, bool) and isinstance(want, str):
            have = str(have).lower()
        return bool(have == want) if op == "==" else bool(have != want)

    return compare


def compile_where(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over stored records for a Xero ``where`` string."""
    groups = [[_clause(c) for c in _split(g, (" AND ", "&&"))] for g in _split(text, (" OR ", "||"))]
    return lambda record: any(all(c(record) for c in group) for group in groups)


def where_fields(text: str) -> set[str]:
    """The fields a ``where`` string filters on (Xero optimises some of them, see ``simulators.xero.batching``);
    a clause the simulator cannot parse counts as the field ``?`` (never an optimised one)."""
    fields = set()
    for group in _split(text, (" OR ", "||")):
        for clause in _split(group, (" AND ", "&&")):
            match = _METHOD.match(clause) or _CLAUSE.match(clause)
            fields.add(match["field"] if match else "?")
    return fields
