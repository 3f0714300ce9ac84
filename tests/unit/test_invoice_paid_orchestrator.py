"""The invoice_paid orchestration: an invoice event written to its deal, read again for events that came meanwhile."""

from __future__ import annotations

from typing import Any

from orchestrators.invoice_paid import MAX_RECHECKS, invoice_paid
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
