"""Marking a deal paid when accounting reports its invoice paid."""

from __future__ import annotations

from datetime import date

from shared.domain.models import InvoiceDraft, InvoiceLine
from shared.sync.paid import MarkPaidInput, mark_deal_paid
from tests.support.fake_ports import FakeAccounting, FakeCrm


def _invoice(acct: FakeAccounting, reference: str) -> str:
    draft = InvoiceDraft(customer_id="C1", reference=reference, currency="EUR", issue_date=date(2026, 11, 1),
                         due_date=date(2026, 11, 15), lines=(InvoiceLine(description="Seats", quantity=1,
                                                                         unit_amount=10, account_code="200"),))
    return acct.create_invoice(draft, f"key-{reference}").id


def test_deal_gets_the_date_the_invoice_was_fully_paid_not_the_day_the_event_arrived() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("501")
    invoice_id = _invoice(acct, "Deal 501")
    acct.invoices[invoice_id].update(status="PAID", paid_on=date(2026, 10, 3))

    first = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)
    again = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)  # a redelivered event

    assert (first.outcome, first.deal_id, again.outcome) == ("marked_paid", "501", "marked_paid")
    assert crm.paid["501"] == (date(2026, 10, 3), invoice_id)


def test_unpaid_or_foreign_invoice_leaves_the_deal_alone() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    ours = _invoice(acct, "Deal 501")
    theirs = _invoice(acct, "PO 42")
    acct.invoices[theirs].update(status="PAID", paid_on=date(2026, 10, 3))
    assert mark_deal_paid(MarkPaidInput(invoice_id=ours), crm, acct).outcome == "not_paid"
    assert mark_deal_paid(MarkPaidInput(invoice_id=theirs), crm, acct).outcome == "not_ours"
    assert mark_deal_paid(MarkPaidInput(invoice_id="nope"), crm, acct).outcome == "unknown_invoice"
    assert crm.paid == {}
