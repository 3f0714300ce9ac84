"""Calling an activity from an orchestrator outside a saga (ledger writes, searches, starts), retried."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestrators.context import Orchestration
from shared.saga.policy import RetryPolicy
from shared.saga.retry import call_with_retries


def call_with_retry(
    ctx: Orchestration, name: str, payload: Any, policy: RetryPolicy
) -> Generator[Any, Any, tuple[bool, Any]]:
    """``(True, result)``, or ``(False, the host's failure reason)`` once the policy gives up.

    The same loop as the saga's steps (durable timers, ``Retry-After``); these activities answer without
    the saga's envelope, so whatever they return is their result.
    """
    called = yield from call_with_retries(ctx, name, payload, policy, label=name, envelope=False)
    if called.ok:
        return True, called.result
    return False, called.failure_text
