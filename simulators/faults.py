"""Fault injection: fail, delay, drop or lose the response of the next matching requests.

Matching: ``method`` (omitted or ``"*"`` = any) and ``path``: a rule path matches a request path
that equals it or continues it with ``/`` (``/api.xro/2.0/Invoices`` matches ``/api.xro/2.0/Invoices``
and ``/api.xro/2.0/Invoices/{id}``, not ``/api.xro/2.0/InvoicesX``); a rule path ending in ``*``
is a plain string prefix. The first matching rule with times left is used; ``times: -1`` is for ever.
``skip: n`` lets the first ``n`` matching requests through untouched (to fail, say, the second PATCH of
an object and not the first); ``probability`` (0..1, with an optional ``seed``) makes a rule fire only on
that share of the matching requests, for random-fault load tests (a request it spares uses no ``times``);
``min_elements`` limits a rule to requests whose JSON body carries a list of at least that many elements
(a batch, not a lone call).
"""

from __future__ import annotations

import json
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
    # Only requests whose JSON body carries a list of at least this many elements (the batch of a batched
    # step, not a lone deal's call): e.g. ``{"Invoices": [...]}``, ``{"inputs": [...]}``.
    min_elements: int = 0
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

    def take(self, method: str, path: str, elements: int = 0) -> Fault | None:
        """The rule for this request (``elements``: the size of the list its JSON body carries), if any."""
        with self._lock:
            for rule in self._rules:
                if rule.times != 0 and rule.matches(method, path) and elements >= rule.min_elements:
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

    def counts_elements(self) -> bool:
        """Whether a rule asks for a body's element count (so that other requests' bodies are not parsed)."""
        with self._lock:
            return any(r.min_elements and r.times != 0 for r in self._rules)


def body_elements(raw: bytes) -> int:
    """The length of the first list in a JSON object body (0 for anything else)."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return 0
    if not isinstance(body, dict):
        return 0
    return next((len(v) for v in body.values() if isinstance(v, list)), 0)
