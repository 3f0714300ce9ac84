"""The saga engine's rules: undo in reverse, retry what is transient, stop at once on rejections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from shared.domain.errors import BusinessRejection, PermanentError, TransientError
from shared.saga import (
    RetryPolicy,
    Saga,
    SagaEvent,
    SagaState,
    Step,
    run_activity,
    run_compensations,
    run_saga,
)
from shared.saga.engine import MAX_PACED_RETRIES
from shared.saga.envelope import Halt
from tests.support.fake_durable import FakeDurableContext

STEPS = ("claim", "contact", "invoice", "writeback")
POLICY = RetryPolicy(max_attempts=3, first_interval=1, max_interval=300)


class World:
    """Plain step functions with scripted failures, wrapped as activities the way blueprints wrap them."""

    def __init__(self) -> None:
        self.effects: list[str] = []
        self.scripts: dict[str, list[Exception | None]] = {}

    def fail(self, activity: str, *errors: Exception | None) -> None:
        self.scripts[activity] = list(errors)

    def activity(self, name: str) -> Callable[[Any], Any]:
        def plain(payload: dict[str, Any]) -> dict[str, Any]:
            script = self.scripts.get(name)
            if script:
                error = script.pop(0)
                if error is not None:
                    raise error
            self.effects.append(name)
            return {"done": name, "seen": payload}

        return lambda payload: run_activity(plain, payload)

    def context(self) -> FakeDurableContext:
        names = [*STEPS, *(f"undo_{s}" for s in STEPS)]
        return FakeDurableContext(activities={n: self.activity(n) for n in names})


def make_saga(**kw: Any) -> Saga:
    steps = tuple(
        Step(
            name=s,
            activity=s,
            build_input=lambda st, s=s: {"step": s, "prior": sorted(st.results)},
            compensation=f"undo_{s}",
            build_compensation_input=lambda st, s=s: {"undo": s, "had_result": s in st.results},
        )
        for s in STEPS
    )
    return Saga(steps=steps, retry=POLICY, compensation_retry=POLICY, **kw)


def run(world: World, saga: Saga | None = None, **kw: Any) -> tuple[Any, FakeDurableContext]:
    ctx = world.context()
    outcome = ctx.run(run_saga(ctx, saga or make_saga(), SagaState(input={"deal": "42"}), **kw))
    return outcome, ctx


def test_all_steps_succeed_in_order_and_nothing_is_undone() -> None:
    world = World()
    outcome, ctx = run(world)
    assert outcome.status == "completed"
    assert ctx.names() == list(STEPS)
    assert outcome.state.results["invoice"] == {"done": "invoice", "seen": {"step": "invoice",
                                                                          "prior": ["claim", "contact"]}}
    assert all(c.status == "pending" for c in outcome.state.compensations)


@pytest.mark.parametrize("k", range(len(STEPS)))
def test_permanent_failure_at_a_step_undoes_every_registered_step_in_reverse(k: int) -> None:
    world = World()
    failing = STEPS[k]
    world.fail(failing, PermanentError("no such thing", service="xero", code="not_found", status=404))
    outcome, ctx = run(world)

    assert outcome.status == "compensated"
    assert outcome.failed_step == failing
    assert outcome.reason.kind == "permanent" and outcome.reason.message == "no such thing"
    assert outcome.reason.service == "xero" and outcome.reason.status == 404
    # The failed step's own undo runs too ("if present"), then the earlier ones, newest first.
    expected_undos = [f"undo_{s}" for s in reversed(STEPS[: k + 1])]
    assert ctx.names() == [*STEPS[: k + 1], *expected_undos]
    assert [c.status for c in outcome.state.compensations] == ["done"] * (k + 1)
    assert ctx.timers == []  # permanent errors are never retried


def test_failed_step_undo_knows_the_step_never_produced_a_result() -> None:
    world = World()
    world.fail("invoice", PermanentError("boom"))
    outcome, ctx = run(world)
    undo_inputs = {name: payload for name, payload in ctx.calls if name.startswith("undo_")}
    assert undo_inputs["undo_invoice"] == {"undo": "invoice", "had_result": False}
    assert undo_inputs["undo_contact"] == {"undo": "contact", "had_result": True}
    assert outcome.status == "compensated"


def test_transient_failure_is_retried_after_retry_after_and_then_succeeds() -> None:
    world = World()
    world.fail("invoice", TransientError("rate limited", retry_after=7, status=429), TransientError("503"))
    outcome, ctx = run(world)
    assert outcome.status == "completed"
    assert ctx.names() == ["claim", "contact", "invoice", "invoice", "invoice", "writeback"]
    # First wait honours Retry-After exactly; the second falls back to exponential backoff (1s * 2).
    assert ctx.timers == [7.0, 2.0]
    assert outcome.state.attempts["invoice"] == 3
    assert world.effects.count("invoice") == 1


def test_transient_failure_that_never_clears_compensates_after_the_last_attempt() -> None:
    world = World()
    world.fail("contact", *[TransientError("down")] * 3)
    outcome, ctx = run(world)
    assert outcome.status == "compensated"
    assert outcome.reason.kind == "transient" and outcome.reason.attempts == 3
    assert ctx.names() == ["claim", "contact", "contact", "contact", "undo_contact", "undo_claim"]


def test_rate_limited_attempts_wait_their_turn_without_using_up_the_retry_policy() -> None:
    world = World()  # the policy allows 3 attempts; five 429s in a row are the server pacing, not failures
    world.fail("invoice", *[TransientError("429", retry_after=2, status=429, code="rate_limited")] * 5)
    outcome, ctx = run(world)
    assert outcome.status == "completed"
    assert ctx.timers == [2.0] * 5 and world.effects.count("invoice") == 1


def test_real_failures_between_rate_limits_still_exhaust_the_retry_policy() -> None:
    world = World()
    limited = TransientError("429", retry_after=1, status=429)
    world.fail("invoice", TransientError("503"), limited, limited, TransientError("503"), limited,
               TransientError("503"))
    outcome, ctx = run(world)
    assert outcome.status == "compensated" and outcome.failed_step == "invoice"
    assert ctx.names().count("invoice") == 6  # three 503s (the policy's 3 attempts) and three 429s


def test_rate_limited_undo_waits_its_turn_without_using_up_the_compensation_policy() -> None:
    world = World()
    world.fail("writeback", PermanentError("refused"))
    world.fail("undo_invoice", *[TransientError("429", retry_after=1, status=429)] * 4)
    outcome, _ = run(world)
    assert outcome.status == "compensated"
    assert [c.status for c in outcome.state.compensations] == ["done"] * 4


def test_unexpected_exception_counts_as_transient_and_keeps_the_host_reason() -> None:
    world = World()
    world.fail("claim", KeyError("dealstage"), None)
    outcome, ctx = run(world)
    assert outcome.status == "completed"
    assert ctx.names()[:2] == ["claim", "claim"]

    world = World()
    world.fail("claim", *[ValueError("bad thing")] * 3)
    outcome, _ = run(world)
    assert outcome.reason.code == "unexpected"
    assert outcome.reason.message == "Activity function 'claim' failed:  ValueError: bad thing"


def test_business_rejection_is_not_retried_and_compensates_at_once() -> None:
    world = World()
    world.fail("invoice", BusinessRejection("Account code '999' is not a valid code", service="xero",
                                            code="validation", status=400))
    outcome, ctx = run(world)
    assert outcome.status == "compensated"
    assert outcome.reason.kind == "rejected"
    assert outcome.reason.message == "Account code '999' is not a valid code"
    assert ctx.names() == ["claim", "contact", "invoice", "undo_invoice", "undo_contact", "undo_claim"]
    assert ctx.timers == []


def test_compensation_failing_transiently_is_retried_until_it_succeeds() -> None:
    world = World()
    world.fail("writeback", PermanentError("deal deleted"))
    world.fail("undo_invoice", TransientError("503"), TransientError("429", retry_after=30))
    outcome, ctx = run(world)
    assert outcome.status == "compensated"
    assert [n for n in ctx.names() if n == "undo_invoice"] == ["undo_invoice"] * 3
    assert ctx.timers == [1.0, 30.0]
    record = next(c for c in outcome.state.compensations if c.step == "invoice")
    assert record.status == "done" and record.attempts == 3


def test_compensation_failing_for_good_needs_attention_and_earlier_undos_still_run() -> None:
    world = World()
    world.fail("writeback", PermanentError("deal deleted"))
    world.fail("undo_invoice", BusinessRejection("Invoice is PAID: a credit note is needed", service="xero"))
    outcome, ctx = run(world)
    assert outcome.status == "needs_attention"
    assert ctx.names()[-4:] == ["undo_writeback", "undo_invoice", "undo_contact", "undo_claim"]
    failed = outcome.failed_compensations
    assert [c.step for c in failed] == ["invoice"]
    assert failed[0].error is not None and "credit note" in failed[0].error.message
    assert {c.step: c.status for c in outcome.state.compensations} == {
        "claim": "done", "contact": "done", "invoice": "failed", "writeback": "done"}


def test_compensation_exhausting_its_retries_needs_attention() -> None:
    world = World()
    world.fail("contact", PermanentError("nope"))
    world.fail("undo_claim", *[TransientError("down")] * 3)
    outcome, _ = run(world)
    assert outcome.status == "needs_attention"
    assert outcome.failed_compensations[0].attempts == 3


def test_needs_attention_can_finish_the_rollback_later() -> None:
    world = World()
    world.fail("writeback", PermanentError("deal deleted"))
    world.fail("undo_invoice", PermanentError("xero down for maintenance"))
    outcome, _ = run(world)
    assert outcome.status == "needs_attention"

    ctx = world.context()
    ctx.run(run_compensations(ctx, make_saga(), outcome.state))
    assert ctx.names() == ["undo_invoice"]  # only what is still owed
    assert all(c.status == "done" for c in outcome.state.compensations)


def test_manual_retry_runs_forward_again_from_the_first_step_and_owes_the_undos_again() -> None:
    world = World()
    world.fail("writeback", PermanentError("deal locked"))
    world.fail("undo_writeback", PermanentError("still locked"))
    saga = make_saga()
    outcome, _ = run(world, saga)
    assert outcome.status == "needs_attention"

    ctx = world.context()
    again = ctx.run(run_saga(ctx, saga, outcome.state))
    assert again.status == "completed"
    assert ctx.names() == list(STEPS)
    assert [c.status for c in again.state.compensations] == ["pending"] * len(STEPS)


def test_deadline_passing_during_retries_compensates() -> None:
    world = World()
    world.fail("invoice", *[TransientError("429", retry_after=600)] * 2)
    ctx = world.context()
    deadline = ctx.current_utc_datetime + timedelta(minutes=5)
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=deadline))
    assert outcome.status == "compensated"
    assert outcome.reason.kind == "transient"
    assert ctx.timers == []  # a wait that would end past the deadline is not started


def _daily_limit(hours: float) -> TransientError:
    return TransientError("429 (daily limit)", retry_after=hours * 3600, status=429, code="quota_exhausted")


def test_waiting_for_xero_daily_limit_to_reset_does_not_count_against_the_deadline() -> None:
    world = World()  # the organisation is out of calls for 6 hours; the deadline is 5 minutes away
    world.fail("invoice", _daily_limit(6), _daily_limit(6))
    ctx = world.context()
    deadline = ctx.current_utc_datetime + timedelta(minutes=5)
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=deadline))
    assert outcome.status == "completed"  # the invoice is late, not rolled back
    assert ctx.timers == [21600.0, 21600.0] and world.effects == list(STEPS)


def test_after_a_quota_wait_the_deadline_still_bounds_ordinary_retries() -> None:
    world = World()  # the quota wait moves the deadline by 6 h, not further: a 10-minute pause after it is too long
    world.fail("contact", _daily_limit(6))
    world.fail("writeback", TransientError("503", retry_after=600, status=503))
    ctx = world.context()
    deadline = ctx.current_utc_datetime + timedelta(minutes=5)
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=deadline))
    assert outcome.status == "compensated" and outcome.failed_step == "writeback"
    assert ctx.timers == [21600.0]


def test_a_quota_that_never_resets_does_not_keep_the_saga_waiting_for_ever() -> None:
    world = World()
    world.fail("invoice", *[_daily_limit(0)] * (MAX_PACED_RETRIES + 5))
    ctx = world.context()
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=ctx.current_utc_datetime + timedelta(minutes=5)))
    assert outcome.status == "compensated" and outcome.reason.code == "quota_exhausted"
    assert ctx.names().count("invoice") == MAX_PACED_RETRIES + 1


def test_a_minute_limit_pause_past_the_deadline_still_compensates() -> None:
    world = World()  # only a quota that resets after hours is exempt; "rate_limited" is the minute limit
    world.fail("invoice", TransientError("429", retry_after=600, status=429, code="rate_limited"))
    ctx = world.context()
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=ctx.current_utc_datetime + timedelta(minutes=5)))
    assert outcome.status == "compensated" and ctx.timers == []


def test_deadline_already_passed_fails_the_next_step_without_calling_it() -> None:
    world = World()
    ctx = world.context()
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=ctx.current_utc_datetime))
    assert outcome.status == "compensated"
    assert outcome.reason.code == "deadline_exceeded"
    assert ctx.names() == ["undo_claim"]


def test_a_step_can_halt_the_saga_when_there_is_nothing_to_do() -> None:
    world = World()
    ctx = world.context()
    ctx.activities["claim"] = lambda p: run_activity(lambda _: Halt("already_synced", {"invoice": "INV-1"}), p)
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState()))
    assert outcome.status == "halted" and outcome.halt == "already_synced"
    assert ctx.names() == ["claim"]
    assert outcome.state.results["claim"] == {"invoice": "INV-1"}


def test_observer_sees_every_transition_and_may_schedule_durable_work() -> None:
    world = World()
    world.fail("contact", TransientError("503"))
    world.fail("invoice", PermanentError("bad"))
    seen: list[tuple[str, str]] = []

    def observer(event: SagaEvent) -> Any:
        seen.append((event.type, event.step))
        if event.type == "step_failed":
            yield world.context().call_activity("claim", {"ledger": event.step})

    ctx = world.context()
    ctx.run(run_saga(ctx, make_saga(), SagaState(), observer=observer))
    assert seen[:6] == [("step_started", "claim"), ("step_succeeded", "claim"),
                        ("step_started", "contact"), ("step_retrying", "contact"),
                        ("step_started", "contact"), ("step_succeeded", "contact")]
    assert ("step_failed", "invoice") in seen and seen[-1] == ("compensation_succeeded", "claim")
    assert ("claim", {"ledger": "invoice"}) in ctx.calls


def test_state_and_outcome_survive_a_json_round_trip() -> None:
    world = World()
    world.fail("invoice", PermanentError("bad"))
    outcome, _ = run(world)
    again = type(outcome).model_validate_json(outcome.model_dump_json())
    assert again == outcome


def test_xero_identity_service_down_uses_no_attempts_so_a_long_outage_delays_the_step_within_the_deadline() -> None:
    world = World()  # the step has 6 attempts; the token endpoint fails 20 times in a row
    down = TransientError("token endpoint 500", status=500, code="auth_unavailable")
    world.fail("contact", *[down] * 20)
    ctx = world.context()
    deadline = ctx.current_utc_datetime + timedelta(hours=2)
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=deadline))
    assert outcome.status == "completed" and world.effects == list(STEPS)
    assert ctx.names().count("contact") == 21


def test_identity_service_down_past_the_deadline_still_rolls_back() -> None:
    world = World()
    world.fail("contact", *[TransientError("token endpoint 503", status=503, code="auth_unavailable")] * 500)
    ctx = world.context()
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=ctx.current_utc_datetime + timedelta(minutes=5)))
    assert outcome.status == "compensated" and outcome.reason.code == "auth_unavailable"


def test_a_disconnected_xero_makes_the_step_wait_past_the_deadline_for_a_person_to_reconnect() -> None:
    world = World()  # refresh token revoked: each attempt waits 5 minutes; a person reconnects after an hour
    gone = TransientError("Xero disconnected: reconnect", retry_after=300, code="xero_disconnected")
    world.fail("invoice", *[gone] * 12)
    ctx = world.context()
    outcome = ctx.run(run_saga(ctx, make_saga(), SagaState(), deadline=ctx.current_utc_datetime + timedelta(minutes=5)))
    assert outcome.status == "completed" and world.effects == list(STEPS)
    assert ctx.timers == [300.0] * 12


# --- forward-only steps (an e-mail sent cannot be taken back) ---


def saga_with_email() -> Saga:
    base = make_saga()
    email = Step(name="email", activity="email", build_input=lambda st: {"prior": sorted(st.results)},
                 forward_only=True)
    return Saga(steps=(*base.steps, email), retry=base.retry, compensation_retry=base.compensation_retry)


def email_context(world: World) -> FakeDurableContext:
    ctx = world.context()
    ctx.activities["email"] = world.activity("email")
    return ctx


def test_a_forward_only_step_runs_last_after_every_undoable_step_succeeded() -> None:
    world = World()
    ctx = email_context(world)
    outcome = ctx.run(run_saga(ctx, saga_with_email(), SagaState()))
    assert outcome.status == "completed" and ctx.names() == [*STEPS, "email"]
    assert [c.step for c in outcome.state.compensations] == list(STEPS)  # no undo registered for it
    assert outcome.state.abandoned == {}


def test_a_forward_only_step_is_retried_forward_and_its_final_failure_rolls_nothing_back() -> None:
    world = World()
    world.fail("email", TransientError("503"), TransientError("503"), TransientError("503"))
    seen: list[str] = []

    def observer(event: SagaEvent) -> Any:
        seen.append(f"{event.type}:{event.step}")
        return iter(())

    ctx = email_context(world)
    outcome = ctx.run(run_saga(ctx, saga_with_email(), SagaState(), observer=observer))
    assert outcome.status == "completed" and outcome.reason is None
    assert ctx.names() == [*STEPS, "email", "email", "email"]  # three attempts, no undo at all
    assert outcome.state.abandoned["email"].attempts == 3 and outcome.state.failure is None
    assert "step_abandoned:email" in seen and "step_failed:email" not in seen


def test_a_forward_only_step_that_a_later_round_completes_is_no_longer_abandoned() -> None:
    world = World()
    world.fail("email", PermanentError("refused"))
    ctx = email_context(world)
    state = SagaState()
    first = ctx.run(run_saga(ctx, saga_with_email(), state))
    assert "email" in first.state.abandoned
    ctx = email_context(world)
    again = ctx.run(run_saga(ctx, saga_with_email(), state))
    assert again.status == "completed" and again.state.abandoned == {}


def test_a_forward_only_step_may_neither_have_an_undo_nor_come_before_one() -> None:
    with pytest.raises(ValueError, match="cannot have an undo"):
        Saga(steps=(Step("email", "email", lambda st: {}, "undo_email", forward_only=True),), retry=POLICY,
             compensation_retry=POLICY)
    with pytest.raises(ValueError, match="comes after a forward-only step"):
        Saga(steps=(Step("email", "email", lambda st: {}, forward_only=True),
                    Step("invoice", "invoice", lambda st: {}, "undo_invoice")), retry=POLICY, compensation_retry=POLICY)
