"""Fault injection: fail, delay, drop or lose the response of the next matching requests.

Matching: ``method`` (omitted or ``"*"`` = any) and ``path``: a rule path matches a request path
that equals it or continues it with ``/`` (``/api.xro/2.0/Invoices`` matches ``/api.xro/2.0/Invoices``
and ``/api.xro/2.0/Invoices/{id}``, not ``/api.xro/2.0/InvoicesX``); a rule path ending in ``*``
is a plain string prefix. The first matching rule with times left is used; ``times: -1`` is for ever.
``skip: n`` lets the first ``n`` matching requests through untouched (to fail, say, the second PATCH of
an object and not the first); ``probability`` (0..1, with an optional ``seed``) makes a rule fire only on
that share of the matching requests, for random-fault load tests (a request it spares uses no ``times``).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Fault", "FaultBook"]


@dataclass
class Fault:
    path: str
    method: str | None = None
    status: int | None = None  # None: no error, only the delay (a slow server)
    times: int = 1
    delay_ms: int = 0
    body: Any = None  # None: the vendor's usual error body for the status
    drop: bool = False  # cut the connection without an answer
    after: bool = False  # apply the request first, then fail: a lost response
    headers: dict[str, str] = field(default_factory=dict)
    skip: int = 0  # matching requests still to let through before the rule applies
    probability: float = 1.0  # share of the matching requests the rule applies to
    seed: int | None = None  # makes the random choices of ``probability`` reproducible
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.skip < 0 or not 0.0 <= self.probability <= 1.0:
            raise ValueError("'skip' must be >= 0 and 'probability' within 0..1")
        if self.seed is not None:
            self._rng.seed(self.seed)

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, "*", "") and self.method.upper() != method.upper():
            return False
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        rule = self.path.rstrip("/")
        return path == rule or path.startswith(rule + "/")


class FaultBook:
    """The active fault rules of one simulator (thread-safe: tests add rules while requests run)."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, spec: dict[str, Any]) -> Fault:
        allowed = set(Fault.__dataclass_fields__) - {"_rng"}
        unknown = set(spec) - allowed
        if unknown or "path" not in spec:
            raise ValueError(f"fault needs 'path'; unknown fields: {sorted(unknown)}")
        fault = Fault(**spec)
        if fault.status is None and not fault.drop and not fault.delay_ms:
            raise ValueError("a fault needs a status, drop or delay_ms")
        with self._lock:
            self._rules.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.times != 0 and rule.matches(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    if rule.probability < 1.0 and rule._rng.random() >= rule.probability:
                        continue
                    if rule.times > 0:
                        rule.times -= 1
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in asdict(r).items() if k != "_rng"} for r in self._rules if r.times != 0]
