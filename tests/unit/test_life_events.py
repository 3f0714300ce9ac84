"""What an invoiced deal's change, loss or deletion does to its invoice: the decision, its read and its doing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.errors import BusinessRejection
from shared.domain.invoice_edits import InvoiceContent, differences
from shared.domain.invoice_mapping import MappingRules, build_invoice
from shared.domain.models import Deal, InvoiceRef, LineItem
from shared.saga.envelope import Halt
from shared.sync.identity import generation_of
from shared.sync.life_events import (
    ApplyInput,
    LifeDecision,
    LifeEventInput,
    apply_life_event,
    decide,
    life_event_id,
    read_life_event,
    recorded_invoice_in,
)
from tests.support.fake_ports import FakeAccounting, FakeCrm

TODAY = date(2026, 1, 5)
RULES = MappingRules()


def deal(stage: str = "closedwon") -> Deal:
    return Deal(id="501", name="Deal 501", stage=stage, currency="EUR", company_ids=("77",), line_item_ids=("l1",))


def items(quantity: str = "3", price: str = "40.00") -> tuple[LineItem, ...]:
    return (LineItem(id="l1", name="Seats", quantity=Decimal(quantity), unit_price=Decimal(price)),)


def invoice(status: str = "AUTHORISED", paid: str = "0", quantity: str = "3", currency: str = "EUR") -> InvoiceContent:
    draft = build_invoice(deal(), items(quantity), "C1", TODAY, RULES)
    ref = InvoiceRef(id="I1", number="INV-0001", status=status, currency=currency, total=Decimal("138.00"),
                     amount_paid=Decimal(paid), customer_id="C1")
    return InvoiceContent(ref=ref, lines=draft.lines, sub_total=Decimal("120.00"))


def decided(the_deal: Deal | None, content: InvoiceContent, quantity: str = "3", **settings: Any) -> LifeDecision:
    draft = build_invoice(the_deal, items(quantity), "C1", TODAY, RULES) if the_deal and \
        the_deal.stage == "closedwon" else None
    event = "deleted" if the_deal is None else "changed"
    return decide(event, the_deal, content, draft, "closedwon",
                  settings.get("on_changed", "update"), settings.get("on_lost", "void"))


def test_a_changed_deal_with_an_unpaid_invoice_gets_its_invoice_updated_by_the_creation_mapping() -> None:
    d = decided(deal(), invoice(), quantity="5")
    assert (d.action, d.kind, d.event, d.amount) == ("update", "invoice_update", "changed", "200.00")
    assert d.draft is not None and d.draft.lines[0].quantity == 5
    assert "'Seats' 3 x 40.00" in d.message and "'Seats' 5 x 40.00" in d.message


def test_a_changed_deal_is_flagged_with_what_differs_when_the_setting_says_flag() -> None:
    d = decided(deal(), invoice(), quantity="5", on_changed="flag")
    assert (d.action, d.code, d.draft) == ("flag", "deal_changed", None)
    assert "lines differ" in d.message and "ON_DEAL_CHANGED=flag" in d.message


@pytest.mark.parametrize(("status", "paid"), [("AUTHORISED", "10.00"), ("PAID", "0")])
def test_a_changed_deal_whose_invoice_is_paid_or_part_paid_is_flagged_never_edited(status: str, paid: str) -> None:
    d = decided(deal(), invoice(status=status, paid=paid), quantity="5")
    assert (d.action, d.code) == ("flag", "credit_note_needed")


def test_nothing_differs_is_no_action_an_amount_changed_back_or_a_redelivered_event() -> None:
    assert decided(deal(), invoice()).action == "none"


def test_a_currency_change_cannot_be_an_edit_and_is_flagged() -> None:
    d = decided(deal(), invoice(currency="USD"))
    assert d.action == "flag" and "currency USD on the invoice, EUR on the deal" in d.message


def test_a_deal_that_cannot_be_invoiced_any_more_is_flagged_with_the_mappings_words() -> None:
    rejection = BusinessRejection("deal 501: the invoice total would be 0.00", service="sync", code="invalid_deal")
    d = decide("changed", deal(), invoice(), rejection, "closedwon", "update", "void")
    assert (d.action, d.code) == ("flag", "deal_unmappable") and "total would be 0.00" in d.message


@pytest.mark.parametrize("the_deal", [deal("closedlost"), None], ids=["lost", "deleted"])
def test_a_lost_or_deleted_deal_with_an_unpaid_invoice_has_it_voided(the_deal: Deal | None) -> None:
    d = decided(the_deal, invoice())
    assert (d.action, d.kind, d.deal_exists) == ("void", "invoice_void", the_deal is not None)
    assert d.event == ("lost" if the_deal else "deleted")


@pytest.mark.parametrize(("status", "paid"), [("AUTHORISED", "10.00"), ("PAID", "0")])
def test_a_lost_deal_whose_invoice_is_paid_or_part_paid_is_flagged_credit_note_needed(status: str, paid: str) -> None:
    d = decided(deal("closedlost"), invoice(status=status, paid=paid))
    assert (d.action, d.code) == ("flag", "credit_note_needed") and d.message.startswith("credit note needed")


def test_a_lost_deal_is_flagged_not_voided_when_the_setting_says_flag() -> None:
    d = decided(deal("closedlost"), invoice(), on_lost="flag")
    assert (d.action, d.code) == ("flag", "deal_lost") and "ON_DEAL_LOST=flag" in d.message


def test_the_deal_as_read_decides_not_the_webhooks_claim() -> None:
    # An amount change read after the deal was lost is a loss; a loss undone (won again) with nothing changed is none.
    lost = decide("changed", deal("closedlost"), invoice(), None, "closedwon", "update", "void")
    assert (lost.action, lost.event) == ("void", "lost")
    back = decide("lost", deal(), invoice(), build_invoice(deal(), items(), "C1", TODAY, RULES), "closedwon",
                  "update", "void")
    assert back.action == "none"


def test_line_differences_ignore_the_accounting_systems_scale() -> None:
    content = invoice()
    scaled = content.model_copy(update={"lines": tuple(
        line.model_copy(update={"quantity": Decimal("3.0000"), "unit_amount": Decimal("40.0000")})
        for line in content.lines)})
    assert differences(build_invoice(deal(), items(), "C1", TODAY, RULES), scaled) == []


class World:
    def __init__(self) -> None:
        self.crm, self.acct = FakeCrm(), FakeAccounting()
        self.crm.add_won_deal("501", "77")
        draft = build_invoice(self.crm.deals["501"], (self.crm.items["501-1"],), "C1", TODAY, RULES)
        self.invoice_id = self.acct.create_invoice(draft, "deal-501:invoice:r0").id
        self.crm.update_markers("501", {"sync_status": "synced", "invoice_id": self.invoice_id,
                                        "invoice_number": "INV-0001", "transaction_id": "deal-501"})
        self.recorded: dict[str, str] = {"501": self.invoice_id}

    def read(self, event: str = "changed", **settings: Any) -> LifeDecision | Halt:
        request = LifeEventInput(tx_id=life_event_id("501", 1), deal_id="501", event=event, today=TODAY, **settings)
        return read_life_event(request, self.crm, self.acct, RULES, "closedwon", self.recorded.get)

    def apply(self, decision: LifeDecision | Halt) -> Any:
        assert isinstance(decision, LifeDecision)
        return apply_life_event(ApplyInput(tx_id=life_event_id("501", 1), deal_id="501", decision=decision),
                                self.crm, self.acct)

    def set_quantity(self, quantity: str) -> None:
        self.crm.items["501-1"] = self.crm.items["501-1"].model_copy(update={"quantity": Decimal(quantity)})


def test_an_update_applied_twice_edits_the_invoice_once_and_says_so_on_the_deal() -> None:
    world = World()
    world.set_quantity("5")
    decision = world.read()
    first, again = world.apply(decision), world.apply(decision)  # the activity re-run after a lost answer
    assert first == again and first.outcome == "updated" and first.amount == "200.00"
    assert world.acct.invoices[world.invoice_id]["edits"] == 1
    markers = world.crm.deals["501"].markers
    assert markers.sync_status == "synced" and "updated to match the deal" in markers.last_error
    assert isinstance(world.read(), Halt)  # read again: the invoice matches now


def test_a_payment_that_arrives_between_the_read_and_the_edit_turns_the_update_into_a_flag() -> None:
    world = World()
    world.set_quantity("5")
    decision = world.read()
    world.acct.invoices[world.invoice_id]["paid"] = Decimal("5.00")
    result = world.apply(decision)
    assert (result.outcome, result.code) == ("flagged", "update_refused")
    assert "edits" not in world.acct.invoices[world.invoice_id]


def test_a_lost_deal_gets_its_invoice_voided_and_its_markers_say_so_even_when_applied_twice() -> None:
    world = World()
    world.crm.deals["501"] = world.crm.deals["501"].model_copy(update={"stage": "closedlost"})
    decision = world.read("lost")
    assert world.apply(decision).outcome == "voided" and world.apply(decision).outcome == "voided"
    assert world.acct.invoices[world.invoice_id]["status"] == "VOIDED"
    markers = world.crm.deals["501"].markers
    assert markers.sync_status == "voided" and "is voided" in markers.last_error
    assert isinstance(world.read("lost"), Halt)  # a redelivered loss finds nothing left to do


def test_a_deleted_deal_finds_its_invoice_through_the_ledger_and_has_it_voided() -> None:
    world = World()
    del world.crm.deals["501"]
    decision = world.read("deleted")
    assert isinstance(decision, LifeDecision) and not decision.deal_exists and decision.invoice_id == world.invoice_id
    assert world.apply(decision).outcome == "voided"


def test_a_late_older_stage_event_of_a_deal_still_won_costs_no_accounting_call() -> None:
    world = World()
    world.acct.get_invoice_content = None  # type: ignore[assignment,method-assign]  # any call would fail
    assert isinstance(world.read("lost"), Halt)


def test_a_deal_this_app_never_invoiced_and_a_deal_being_invoiced_start_no_transaction() -> None:
    world = World()
    world.crm.update_markers("501", {"sync_status": "", "invoice_id": ""})
    assert isinstance(world.read(), Halt)
    world.crm.update_markers("501", {"sync_status": "in_progress"})
    with pytest.raises(Exception, match="being invoiced"):  # transient: the read is retried after its sync
        world.read()


class Ledger:
    def __init__(self, rows: list[dict[str, Any]], full: dict[str, dict[str, Any]]) -> None:
        self.rows, self.full = rows, full

    def for_deal(self, deal_id: str) -> list[dict[str, Any]]:
        return self.rows

    def get(self, tx_id: str, started_at: str) -> dict[str, Any] | None:
        return self.full.get(tx_id)


def test_the_recorded_invoice_is_the_latest_completed_syncs_never_a_life_events() -> None:
    rows = [{"id": "deal-501-change1", "status": "completed", "started_at": "3"},
            {"id": "deal-501-g2", "status": "completed", "started_at": "2"},
            {"id": "deal-501", "status": "compensated", "started_at": "1"}]
    full = {"deal-501-change1": {"invoice_id": "X"}, "deal-501-g2": {"invoice_id": "I2"}, "deal-501": {}}
    assert recorded_invoice_in(Ledger(rows, full), "501") == "I2"
    assert recorded_invoice_in(Ledger(rows[2:], full), "501") is None


def test_life_event_ids_are_never_a_syncs_id() -> None:
    assert life_event_id("501", 3) == "deal-501-change3"
    assert generation_of("501", life_event_id("501", 3)) is None  # the sync's starters never take it for theirs
