"""Calling an activity from an orchestrator with durable-timer retries, outside a saga (ledger writes, searches)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from orchestrators.context import Orchestration
from shared.saga.policy import RetryPolicy


def call_with_retry(
    ctx: Orchestration, name: str, payload: Any, policy: RetryPolicy
) -> Generator[Any, Any, tuple[bool, Any]]:
    """``(True, result)``, or ``(False, the host's failure reason)`` once the policy gives up."""
    attempt = 0
    while True:
        attempt += 1
        try:
            result = yield ctx.call_activity(name, payload)
        except Exception as exc:  # the SDK surfaces every activity failure as a bare Exception
            if policy.gives_up_after(attempt):
                return False, str(exc).split(" \n ", 1)[0][:500]
            yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=policy.delay(attempt)))
        else:
            return True, result
