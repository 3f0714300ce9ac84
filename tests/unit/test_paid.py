"""Marking a deal paid when accounting reports its invoice paid."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.domain.errors import TransientError
from shared.domain.models import InvoiceDraft, InvoiceLine, InvoiceRef, SyncMarkers
from shared.sync.paid import MarkPaidInput, mark_deal_paid
from shared.sync.payments import payment_markers, unchanged
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
    markers = crm.deals["501"].markers
    assert (markers.paid_status, markers.paid_date, markers.invoice_id) == ("paid", "2026-10-03", invoice_id)


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
    assert crm.deals["501"].markers.paid_status == ""


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
    assert crm.deals["501"].markers.paid_status == "" and crm.deals["501"].markers.invoice_id == ours
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


def _pay(acct: FakeAccounting, invoice_id: str, paid: str, total: str = "1500.00", on: date | None = None) -> None:
    """What accounting shows after payments of ``paid`` in all: AUTHORISED until fully paid, then PAID."""
    full = Decimal(paid) >= Decimal(total)
    acct.invoices[invoice_id].update(status="PAID" if full else "AUTHORISED", total=Decimal(total),
                                     amount_paid=Decimal(paid), amount_due=Decimal(total) - Decimal(paid),
                                     paid_on=on if full else None)


def _synced_deal(crm: FakeCrm, acct: FakeAccounting) -> str:
    crm.add_won_deal("501")
    invoice_id = _invoice(acct, "Deal 501")
    crm.update_markers("501", {"sync_status": "synced", "invoice_id": invoice_id})
    return invoice_id


def test_a_part_payment_shows_partially_paid_with_what_was_paid_and_what_is_due() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    invoice_id = _synced_deal(crm, acct)
    _pay(acct, invoice_id, "400.00")
    assert mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct).outcome == "marked_partially_paid"
    markers = crm.deals["501"].markers
    assert (markers.paid_status, markers.amount_paid, markers.amount_due, markers.paid_date) == (
        "partially_paid", "400.00", "1100.00", "")


def test_full_payment_shows_paid_on_the_day_accounting_says_with_all_paid_and_nothing_due() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    invoice_id = _synced_deal(crm, acct)
    _pay(acct, invoice_id, "400.00")
    mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)
    _pay(acct, invoice_id, "1500.00", on=date(2026, 11, 20))
    assert mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct).outcome == "marked_paid"
    markers = crm.deals["501"].markers
    assert (markers.paid_status, markers.paid_date, markers.amount_paid, markers.amount_due) == (
        "paid", "2026-11-20", "1500.00", "0.00")


def test_an_older_event_read_after_full_payment_does_not_move_the_deal_back() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    invoice_id = _synced_deal(crm, acct)
    _pay(acct, invoice_id, "1500.00", on=date(2026, 11, 20))
    mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)
    writes = crm.log.count("update_markers")
    # The part payment's event arrives late: the invoice is read as it is now (paid), so nothing is written.
    assert mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct).outcome == "marked_paid"
    assert crm.log.count("update_markers") == writes and crm.deals["501"].markers.paid_status == "paid"


def test_a_redelivered_part_payment_event_writes_nothing_more() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    invoice_id = _synced_deal(crm, acct)
    _pay(acct, invoice_id, "400.00")
    mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct)
    writes = crm.log.count("update_markers")
    assert mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct).outcome == "marked_partially_paid"
    assert crm.log.count("update_markers") == writes


@pytest.mark.parametrize(
    ("invoice", "expected"),
    [
        (InvoiceRef(id="i", number="1", status="AUTHORISED", total=Decimal("99.90"), amount_paid=Decimal("0"),
                    amount_due=Decimal("99.90")), ("", "", "", "")),
        (InvoiceRef(id="i", number="1", status="AUTHORISED", total=Decimal("99.90"), amount_paid=Decimal("0.01"),
                    amount_due=Decimal("99.89")), ("partially_paid", "", "0.01", "99.89")),
        (InvoiceRef(id="i", number="1", status="PAID", total=Decimal("99.9"), amount_paid=Decimal("99.9"),
                    amount_due=Decimal("0"), paid_on=date(2026, 1, 2)), ("paid", "2026-01-02", "99.90", "0.00")),
        # Paid without a date from accounting: today stands in.
        (InvoiceRef(id="i", number="1", status="PAID", total=Decimal("5")), ("paid", "2026-03-04", "5.00", "0.00")),
    ],
)
def test_paid_markers_follow_the_invoice_as_it_stands(invoice: InvoiceRef, expected: tuple[str, ...]) -> None:
    values = payment_markers(invoice, date(2026, 3, 4))
    assert tuple(values[f] for f in ("paid_status", "paid_date", "amount_paid", "amount_due")) == expected


def test_a_deal_showing_the_same_amounts_in_another_spelling_is_unchanged() -> None:
    shown = SyncMarkers(paid_status="paid", paid_date="2026-01-02T00:00:00Z", amount_paid="99.9", amount_due="0")
    assert unchanged(shown, {"paid_status": "paid", "paid_date": "2026-01-02", "amount_paid": "99.90",
                             "amount_due": "0.00"})
    assert not unchanged(shown, {"paid_status": "partially_paid", "paid_date": "", "amount_paid": "50.00",
                                 "amount_due": "49.90"})


def test_xero_telling_of_the_void_the_app_made_for_a_lost_deal_keeps_the_deals_note_and_offers_no_retry() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("501")
    invoice_id = _invoice(acct, "Deal 501")
    note = "the deal is lost: invoice INV-1 is voided (deal-501-change1)"
    # The life event voided the invoice and said so on the deal; Xero then sends its UPDATE event.
    crm.update_markers("501", {"sync_status": "voided", "invoice_id": invoice_id, "transaction_id": "deal-501",
                               "last_error": note})
    crm.deals["501"] = crm.deals["501"].model_copy(update={"stage": "closedlost"})
    acct.invoices[invoice_id].update(status="VOIDED")

    result = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct, trigger_stage="closedwon")

    assert result.outcome == "invoice_voided" and result.transaction_id == ""  # nothing for the sync to hear
    assert crm.deals["501"].markers.last_error == note


def test_an_invoice_voided_by_hand_while_its_deal_is_still_won_offers_the_retry() -> None:
    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("501")
    invoice_id = _invoice(acct, "Deal 501")
    crm.update_markers("501", {"sync_status": "synced", "invoice_id": invoice_id, "transaction_id": "deal-501"})
    acct.invoices[invoice_id].update(status="VOIDED")

    result = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id), crm, acct, trigger_stage="closedwon")

    assert (result.outcome, result.transaction_id) == ("invoice_voided", "deal-501")
    assert "press Retry" in crm.deals["501"].markers.last_error


def test_a_delivery_s_invoices_are_read_in_one_call_and_the_write_back_uses_that_read_not_its_own() -> None:
    from shared.sync.paid import ReadInvoicesInput, read_invoices

    crm, acct = FakeCrm(), FakeAccounting()
    crm.add_won_deal("601")
    invoice_id = _invoice(acct, "Deal 601")
    crm.update_markers("601", {"sync_status": "synced", "invoice_id": invoice_id})
    acct.invoices[invoice_id].update(status="PAID", paid_on=date(2026, 10, 4))
    reads = read_invoices(ReadInvoicesInput(invoice_ids=[invoice_id, "nope"]), acct)
    assert acct.reads == [[invoice_id, "nope"]] and reads.invoices["nope"] is None
    acct.get_invoice = None  # type: ignore[assignment, method-assign]  # a read of its own would fail here
    result = mark_deal_paid(MarkPaidInput(invoice_id=invoice_id, read=True, invoice=reads.invoices[invoice_id]),
                            crm, acct)
    assert result.outcome == "marked_paid" and crm.deals["601"].markers.paid_date == "2026-10-04"
    gone = mark_deal_paid(MarkPaidInput(invoice_id="nope", read=True, invoice=None), crm, acct)
    assert gone.outcome == "unknown_invoice"
