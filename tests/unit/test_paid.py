"""Marking a deal paid when accounting reports its invoice paid."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.errors import TransientError
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
    crm.update_markers("501", {"sync_status": "synced", "invoice_id": invoice_id})
    acct.invoices[invoice_id].update(status="PAID", paid_on=date(2026, 10, 3))

    first = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)
    again = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)  # a redelivered event

    assert (first.outcome, first.deal_id, again.outcome) == ("marked_paid", "501", "marked_paid")
    assert crm.paid["501"] == (date(2026, 10, 3), invoice_id)


def test_unpaid_or_foreign_invoice_leaves_the_deal_alone() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("501")
    ours = _invoice(acct, "Deal 501")
    crm.update_markers("501", {"sync_status": "synced", "invoice_id": ours})
    theirs = _invoice(acct, "PO 42")
    acct.invoices[theirs].update(status="PAID", paid_on=date(2026, 10, 3))
    assert mark_deal_paid(MarkPaidInput(invoice_id=ours), crm, acct).outcome == "not_paid"
    assert mark_deal_paid(MarkPaidInput(invoice_id=theirs), crm, acct).outcome == "not_ours"
    assert mark_deal_paid(MarkPaidInput(invoice_id="nope"), crm, acct).outcome == "unknown_invoice"
    assert crm.paid == {}


def test_an_invoice_with_the_deals_reference_but_not_its_recorded_id_changes_nothing() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("501")
    ours = _invoice(acct, "Deal 501")
    crm.update_markers("501", {"sync_status": "synced", "invoice_id": ours})
    fee = _invoice(acct, "Deal 501-fee")
    acct.invoices[fee].update(status="PAID", reference="Deal 501", paid_on=date(2026, 10, 3))
    assert mark_deal_paid(MarkPaidInput(invoice_id=fee), crm, acct).outcome == "not_ours"
    acct.invoices[fee]["status"] = "VOIDED"
    assert mark_deal_paid(MarkPaidInput(invoice_id=fee), crm, acct).outcome == "not_ours"
    assert crm.paid == {} and crm.deals["501"].markers.invoice_id == ours
    assert crm.deals["501"].markers.sync_status == "synced"


def test_an_event_while_the_deal_is_being_invoiced_is_asked_again_later() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("501")
    crm.update_markers("501", {"sync_status": "in_progress", "transaction_id": "deal-501"})
    invoice_id = _invoice(acct, "Deal 501")
    acct.invoices[invoice_id].update(status="PAID", paid_on=date(2026, 10, 3))
    with pytest.raises(TransientError):
        mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)


@pytest.mark.parametrize(("status", "outcome"), [("VOIDED", "invoice_voided"), ("DELETED", "invoice_deleted")])
def test_the_deals_invoice_voided_or_deleted_by_hand_marks_the_deal_and_names_its_transaction(
    status: str, outcome: str,
) -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("501")
    invoice_id = _invoice(acct, "Deal 501")
    crm.update_markers("501", {"sync_status": "synced", "transaction_id": "deal-501", "invoice_id": invoice_id})
    acct.invoices[invoice_id]["status"] = status
    result = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)
    assert (result.outcome, result.transaction_id, result.invoice_status) == (outcome, "deal-501", status)
    markers = crm.deals["501"].markers
    assert markers.sync_status == "voided" and status.lower() in markers.last_error
    assert "Retry" in markers.last_error and "\n" not in markers.last_error


def test_an_event_for_a_deleted_deal_changes_nothing() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    invoice_id = _invoice(acct, "Deal 999")
    assert mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct).outcome == "unknown_deal"
