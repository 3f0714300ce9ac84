"""The invoice_paid orchestration: an invoice event written to its deal, read again for events that came meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrators.invoice_paid import MAX_RECHECKS, READ_WAIT, invoice_paid
from shared import names
from tests.support.fake_durable import FakeDurableContext


def run(*events: Any) -> tuple[dict[str, Any], FakeDurableContext]:
    outcomes = iter(["marked_partially_paid", "marked_paid", "marked_paid"] + ["marked_paid"] * MAX_RECHECKS)
    ctx = FakeDurableContext(activities={names.MARK_DEAL_PAID: lambda _p: {"outcome": next(outcomes)}},
                             instance_id="paid-inv-1", input={"invoice_id": "inv-1"}, events=list(events))
    return ctx.run(invoice_paid(ctx)), ctx


def test_an_event_alone_reads_the_invoice_once() -> None:
    output, ctx = run()
    assert ctx.names() == [names.MARK_DEAL_PAID] and output["outcome"] == "marked_partially_paid"


def test_a_second_payment_while_the_first_is_written_back_is_read_again_and_the_deal_ends_paid() -> None:
    output, ctx = run(names.EVENT_RECHECK)
    assert ctx.names() == [names.MARK_DEAL_PAID] * 2 and output["outcome"] == "marked_paid"


def test_rechecks_are_bounded_per_run() -> None:
    _, ctx = run(*[names.EVENT_RECHECK] * (MAX_RECHECKS + 5))
    assert ctx.names() == [names.MARK_DEAL_PAID] * (MAX_RECHECKS + 1)


def run_read_by(*events: Any) -> tuple[dict[str, Any], FakeDurableContext]:
    ctx = FakeDurableContext(activities={names.MARK_DEAL_PAID: lambda _p: {"outcome": "marked_paid"}},
                             instance_id="paid-inv-1", input={"invoice_id": "inv-1", "read_by": "xewh-b1"},
                             events=list(events))
    return ctx.run(invoice_paid(ctx)), ctx


INVOICE = {"id": "inv-1", "number": "INV-1", "status": "PAID"}


def test_a_run_started_by_a_batch_writes_back_the_invoice_the_batch_read_without_reading_it_again() -> None:
    _, ctx = run_read_by((names.invoice_read_event("xewh-b1"), None, {"read": True, "invoice": INVOICE}))
    assert ctx.calls == [(names.MARK_DEAL_PAID, {"invoice_id": "inv-1", "read": True, "invoice": INVOICE})]
    assert ctx.timers == []  # the wait's timer was cancelled, not waited out


def test_a_run_whose_batch_could_not_read_the_invoice_reads_it_itself() -> None:
    _, ctx = run_read_by((names.invoice_read_event("xewh-b1"), None, {"read": False}))
    assert ctx.calls == [(names.MARK_DEAL_PAID, {"invoice_id": "inv-1"})]


def test_a_run_waits_for_its_own_batch_s_read_only_and_not_for_ever() -> None:
    # An earlier batch's read (same instance id, an earlier run) never answers this run; the wait is bounded.
    output, ctx = run_read_by((names.invoice_read_event("xewh-b0"), None, {"read": True, "invoice": INVOICE}))
    assert output is None and ctx.calls == []  # still waiting: for its batch, or for READ_WAIT
    gen = invoice_paid(FakeDurableContext(activities={}, input={"invoice_id": "inv-1", "read_by": "xewh-b1"}))
    event, timer = next(gen).tasks
    assert (event.name, timer.fire_at - datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == (
        names.invoice_read_event("xewh-b1"), READ_WAIT)
    assert timedelta(minutes=5) < READ_WAIT  # longer than the batch's read with its retries


def test_an_event_while_the_batch_read_is_awaited_is_read_again_after_it() -> None:
    _, ctx = run_read_by((names.invoice_read_event("xewh-b1"), None, {"read": True, "invoice": INVOICE}),
                         names.EVENT_RECHECK)
    assert ctx.calls[1:] == [(names.MARK_DEAL_PAID, {"invoice_id": "inv-1"})]
