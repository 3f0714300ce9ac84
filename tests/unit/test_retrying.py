"""The orchestrators' own calls retry through the saga's loop: Retry-After is honoured, 429s count as attempts."""

from __future__ import annotations

from typing import Any

from orchestrators.retrying import call_with_retry
from shared.domain.errors import TransientError
from shared.saga.envelope import StepFailed
from shared.saga.policy import RetryPolicy
from tests.support.fake_durable import FakeDurableContext

POLICY = RetryPolicy(max_attempts=3, first_interval=2, max_interval=60, pace=False)


def flaky(*errors: Exception) -> Any:
    pending = list(errors)

    def activity(payload: Any) -> Any:
        if pending:
            raise pending.pop(0)
        return {"echo": payload}

    return activity


def test_a_call_waits_what_the_server_asked_for_then_returns_its_result() -> None:
    busy = StepFailed(TransientError("busy", service="hubspot", status=429, retry_after=42).to_dict())
    ctx = FakeDurableContext(activities={"search": flaky(busy, RuntimeError("boom"))})
    ok, result = ctx.run(call_with_retry(ctx, "search", {"page": 1}, POLICY))
    assert (ok, result) == (True, {"echo": {"page": 1}})
    assert ctx.timers == [42.0, POLICY.delay(2)]


def test_a_call_that_keeps_failing_gives_up_with_the_hosts_reason_429s_counting_as_attempts() -> None:
    busy = StepFailed(TransientError("busy", service="hubspot", status=429, retry_after=1).to_dict())
    ctx = FakeDurableContext(activities={"search": flaky(busy, busy, busy, busy)})
    ok, reason = ctx.run(call_with_retry(ctx, "search", {}, POLICY))
    assert not ok and "busy" in reason
    assert len(ctx.calls) == POLICY.max_attempts
