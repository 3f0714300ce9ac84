"""The sync_transaction state machine: allowed moves, refused moves, and the timeline it keeps."""

from __future__ import annotations

import pytest

from shared.domain.transaction import InvalidTransition, TransactionState, apply, check_manual


def started() -> TransactionState:
    return apply(None, {"op": "start", "id": "deal-1", "deal_id": "1", "trigger": "webhook",
                        "at": "2026-11-23T10:00:00+00:00"})


def events(state: TransactionState, *evs: dict[str, object]) -> TransactionState:
    return apply(state, {"op": "events", "events": list(evs), "at": "2026-11-23T10:00:05+00:00"})


def test_start_moves_pending_to_running_and_records_the_transition() -> None:
    state = started()
    assert state.status == "running"
    assert [(t.from_status, t.to_status) for t in state.transitions] == [("pending", "running")]
    assert state.created_at == "2026-11-23T10:00:00+00:00"


def test_step_timeline_keeps_start_end_attempts_and_last_error() -> None:
    state = events(started(),
                   {"type": "step_started", "step": "invoice", "at": "t1"},
                   {"type": "step_retrying", "step": "invoice", "at": "t2",
                    "error": {"kind": "transient", "message": "429"}},
                   {"type": "step_started", "step": "invoice", "at": "t3"},
                   {"type": "step_succeeded", "step": "invoice", "at": "t4",
                    "result": {"external_ids": {"invoice": "INV-9", "invoice_number": "INV-0009"}}})
    step = state.steps[0]
    assert (step.status, step.started_at, step.ended_at, step.attempts) == ("succeeded", "t1", "t4", 2)
    assert step.last_error == {"kind": "transient", "message": "429"}
    assert state.external_ids == {"invoice": "INV-9", "invoice_number": "INV-0009"}


def test_a_waiting_step_says_when_its_next_attempt_is_due_until_it_runs_again() -> None:
    state = events(started(),
                   {"type": "step_started", "step": "invoice", "at": "2026-11-23T22:00:00+00:00"},
                   {"type": "step_retrying", "step": "invoice", "at": "2026-11-23T22:00:01+00:00",
                    "delay_seconds": 7200.0, "error": {"kind": "transient", "code": "quota_exhausted"}})
    assert (state.steps[0].status, state.steps[0].retry_at) == ("retrying", "2026-11-24T00:00:01+00:00")
    state = events(state, {"type": "step_started", "step": "invoice", "at": "2026-11-24T00:00:01+00:00"})
    assert (state.steps[0].status, state.steps[0].retry_at) == ("running", "")


def test_failed_step_moves_to_compensating_then_compensated() -> None:
    state = events(started(), {"type": "step_failed", "step": "invoice", "at": "t1",
                               "error": {"kind": "rejected", "message": "bad account"}},
                   {"type": "compensation_succeeded", "step": "claim", "at": "t2"})
    assert state.status == "compensating" and state.failed_step == "invoice"
    state = apply(state, {"op": "finish", "status": "compensated", "at": "t3"})
    assert state.status == "compensated" and state.ended_at == "t3"
    assert [c.status for c in state.compensation_log] == ["done"]


def test_completed_transaction_refuses_further_moves() -> None:
    done = apply(started(), {"op": "finish", "status": "completed", "at": "t"})
    with pytest.raises(InvalidTransition, match="completed; it cannot become compensated"):
        apply(done, {"op": "finish", "status": "compensated", "at": "t"})
    with pytest.raises(InvalidTransition, match="cannot start again"):
        apply(done, {"op": "start", "id": "deal-1", "deal_id": "1"})


def test_manual_actions_are_only_possible_when_a_person_is_needed() -> None:
    state = apply(started(), {"op": "finish", "status": "needs_attention", "at": "t"})
    assert check_manual(state, "retry") is None and check_manual(state, "compensate") is None
    retried = apply(state, {"op": "manual", "action": "retry", "at": "t2"})
    assert retried.status == "running" and retried.round == 1
    assert retried.transitions[-1].by == "person"
    assert "only possible when it needs attention" in (check_manual(retried, "compensate") or "")
    assert check_manual(None, "retry") == "no such transaction"
    assert "unknown action" in (check_manual(state, "explode") or "")


def test_a_duplicated_start_signal_is_harmless() -> None:
    state = started()
    assert apply(state, {"op": "start", "id": "deal-1", "deal_id": "1", "at": "later"}).status == "running"


def test_state_survives_json_round_trip() -> None:
    state = events(started(), {"type": "step_started", "step": "load", "at": "t"})
    assert TransactionState.model_validate_json(state.model_dump_json()) == state


def test_a_skipped_run_leaves_a_deal_free_and_a_rolled_back_one_once_the_deal_changed_after_it() -> None:
    from datetime import UTC, datetime

    from shared.sync.discovery import has_transaction

    ended = "2026-11-02T10:00:00+00:00"
    before, after = datetime(2026, 11, 2, 9, tzinfo=UTC), datetime(2026, 11, 2, 11, tzinfo=UTC)
    assert not has_transaction([]) and not has_transaction([{"status": "skipped"}])
    for status in ("running", "completed", "compensated", "needs_attention", "already_synced"):
        assert has_transaction([{"status": "skipped", "started_at": "1"},
                                {"status": status, "started_at": "2", "updated_at": ended}])
    for status in ("running", "completed", "needs_attention", "compensating", "pending"):
        assert has_transaction([{"status": status, "updated_at": ended}], after)  # live or invoiced: never
    for status in ("compensated", "already_synced"):
        rows = [{"status": status, "started_at": "2", "updated_at": ended}, {"status": "skipped", "started_at": "1"}]
        assert has_transaction(rows, before)  # nobody touched the deal since: no retry loop
        assert not has_transaction(rows, after)  # fixed and won again: the next generation
