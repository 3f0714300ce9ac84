"""The log line an alert rule matches: one per transaction a person has to act on, and only those."""

from __future__ import annotations

import logging

import pytest

from shared.domain.transaction import TransactionState, apply
from shared.sync import attention

AT = "2026-11-23T10:00:00+00:00"


def _finished(status: str, **finish: object) -> TransactionState:
    state = apply(None, {"op": "start", "id": "deal-7", "deal_id": "7", "trigger": "webhook", "at": AT})
    return apply(state, {"op": "finish", "status": status, "at": AT, **finish})


def test_an_undo_left_to_do_names_the_transaction_the_step_and_what_is_left() -> None:
    state = _finished("needs_attention", failed_step="write_back",
                      reason={"kind": "permanent", "service": "xero", "code": "validation",
                              "message": "Invoice INV-0009 is PAID:\n it cannot be voided"},
                      pending_compensations=[{"step": "customer"}, {"step": "invoice"}])
    assert attention.attention_line(state) == (
        "sync attention: status=needs_attention transaction=deal-7 deal=7 step=write_back service=xero "
        'code=validation undos_left=invoice,customer reason="Invoice INV-0009 is PAID: it cannot be voided"')


def test_a_deal_the_saga_rolled_back_is_reported_because_it_is_not_invoiced() -> None:
    state = _finished("compensated", failed_step="customer",
                      reason={"kind": "rejected", "service": "sync", "code": "missing_company",
                              "message": "the deal has no company"})
    line = attention.attention_line(state)
    assert line is not None and line.startswith("sync attention: status=compensated transaction=deal-7 ")


def test_a_rollback_a_person_asked_for_is_not_reported() -> None:
    state = _finished("needs_attention", failed_step="invoice", reason={"message": "down"})
    state = apply(state, {"op": "manual", "action": "compensate", "at": AT})
    state = apply(state, {"op": "finish", "status": "compensated", "at": AT})
    assert attention.attention_line(state) is None


@pytest.mark.parametrize("status", ["completed", "already_synced", "skipped"])
def test_finished_transactions_that_need_no_one_are_not_reported(status: str) -> None:
    assert attention.attention_line(_finished(status)) is None


def test_odd_text_in_a_reason_keeps_the_line_one_parseable_line() -> None:
    state = _finished("needs_attention", reason={"service": "x ero\n", "code": "a b", "message": "\u202eé\x00\n" * 200})
    line = attention.attention_line(state)
    assert line is not None and "\n" not in line and "\u202e" not in line and "\x00" not in line
    assert " service=x_ero_ code=a_b " in line and len(line) < 450


def test_report_logs_the_line_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        attention.report(_finished("needs_attention", reason={"message": "down"}))
        attention.report(_finished("completed"))
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert caplog.records[0].getMessage().startswith("sync attention: status=needs_attention")


def test_a_later_rollback_by_the_saga_is_reported_even_after_a_person_once_chose_to_roll_back() -> None:
    state = _finished("needs_attention", failed_step="invoice", reason={"message": "down"})
    state = apply(state, {"op": "manual", "action": "compensate", "at": AT})  # the person rolls back...
    state = apply(state, {"op": "finish", "status": "needs_attention", "at": AT})  # ...an undo fails again
    state = apply(state, {"op": "manual", "action": "retry", "at": AT})  # so they go forward instead
    state = apply(state, {"op": "finish", "status": "compensated", "at": AT, "reason": {"message": "refused"}})
    assert [t.by for t in state.transitions if t.to_status == "compensating"] == ["saga", "person", "saga"]
    assert attention.attention_line(state) is not None
