"""The deal_sync orchestration's business rules, driven through a fake durable context and in-memory ports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from orchestrators.deal_sync import deal_sync
from shared import names
from shared.domain.errors import BusinessRejection, PermanentError, TransientError
from shared.domain.invoice_mapping import MappingRules
from shared.domain.models import SyncMarkers
from shared.domain.transaction import TransactionState, apply
from shared.sync import activities, deal_saga
from shared.sync.messages import ArchiveCustomerInput
from shared.sync.steps import archive_customer_if_created
from tests.support.fake_durable import FakeDurableContext
from tests.support.fake_ports import FakeAccounting, FakeCrm

POLICY = {"step_max_attempts": 3, "step_retry_first_seconds": 1, "step_retry_max_seconds": 10,
          "compensation_max_attempts": 3, "deadline_minutes": 60}


class World:
    def __init__(self) -> None:
        self.crm, self.acct = FakeCrm(), FakeAccounting()
        self.crm.add_won_deal("501", "77")
        self.ports = activities.Ports(self.crm, self.acct, MappingRules(), "closedwon")
        self.ledger: list[dict[str, Any]] = []

    def context(self, *events: Any) -> FakeDurableContext:
        acts: dict[str, Any] = {n: (lambda p, n=n: activities.run(n, p, self.ports)) for n in activities.HANDLERS}
        acts[names.RECORD_TRANSACTION] = self.ledger.append
        return FakeDurableContext(activities=acts, instance_id="deal-501", events=list(events),
                                  input={"deal_id": "501", "trigger": "webhook", "policy": POLICY})

    def run(self, *events: Any) -> tuple[Any, FakeDurableContext]:
        ctx = self.context(*events)
        return ctx.run(deal_sync(ctx)), ctx

    def on_write_back(self, act: Callable[[str, Any], None]) -> None:
        """Run ``act`` as the first write-back reaches the CRM (the deal's second marker write; the
        first is the claim); ``act`` may raise to refuse it, or write first as someone else would."""
        original, calls = self.crm.update_markers, {"n": 0}

        def markers(deal_id: str, values: Any) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                act(deal_id, values)
            original(deal_id, values)

        self.crm.update_markers = markers  # type: ignore[method-assign]


def entity_state(ctx: FakeDurableContext) -> TransactionState:
    state = None
    for entity, key, op, payload in ctx.signals:
        assert (entity, key, op) == (names.SYNC_TRANSACTION, "deal-501", "apply")
        state = apply(state, payload)
    assert state is not None
    return state


def test_won_deal_gets_one_invoice_and_the_deal_is_written_back() -> None:
    world = World()
    result, ctx = world.run()
    assert result["status"] == "completed" and result["invoice_number"] == "INV-0001"
    assert [i["status"] for i in world.acct.invoices.values()] == ["AUTHORISED"]
    markers = world.crm.deals["501"].markers
    assert (markers.sync_status, markers.invoice_id, markers.transaction_id) == ("synced", "I1", "deal-501")
    assert world.ledger[-1]["status"] == "completed"
    assert [row["status"] for row in world.ledger] == ["running", "completed"]  # one write per status change
    assert entity_state(ctx).status == "completed"
    assert [s.name for s in entity_state(ctx).steps] == ["load", "claim", "customer", "invoice", "write_back"]


@pytest.mark.parametrize("combined", [False, True], ids=["rest", "graphql"])
def test_crm_calls_for_a_new_customer_are_three_with_a_combined_read_and_five_over_rest(combined: bool) -> None:
    world = World()
    world.crm.combined_read = combined
    result, _ = world.run()
    assert result["status"] == "completed"
    if combined:
        assert world.crm.log == ["get_deal_snapshot", "update_markers", "update_markers"]
    else:  # the company is read only because the customer is new (its e-mail is on the company)
        assert world.crm.log == ["get_deal", "get_line_items", "update_markers", "get_company", "update_markers"]


@pytest.mark.parametrize(("method", "step"), [("update_markers", "claim"), ("create_customer", "customer"),
                                              ("create_invoice", "invoice")])
def test_permanent_failure_puts_both_systems_back(method: str, step: str) -> None:
    world = World()
    before_deal, before_acct = world.crm.deals["501"], world.acct.snapshot()
    port = world.crm if method == "update_markers" else world.acct
    port.faults.add(method, PermanentError("gone", service="x"))
    result, ctx = world.run()
    assert result["status"] == "compensated" and result["failed_step"] == step
    # The deal is as it was, but for one line saying why nothing was invoiced.
    after_deal = world.crm.deals["501"]
    assert after_deal.markers.last_error == f"Not invoiced, rolled back at {step}: gone"
    assert after_deal.model_copy(update={"markers": after_deal.markers.model_copy(
        update={"last_error": ""})}) == before_deal
    after = world.acct.snapshot()
    active = [c for c in after["customers"].values() if c["status"] == "ACTIVE"]
    assert active == list(before_acct["customers"].values())
    assert all(i["status"] in ("VOIDED", "DELETED") for i in after["invoices"].values())
    assert entity_state(ctx).status == "compensated"


def test_failed_write_back_voids_the_invoice_and_restores_the_deal() -> None:
    world = World()
    original = world.crm.update_markers
    calls = {"n": 0}

    def flaky(deal_id: str, values: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the write-back (the first is the claim)
            raise BusinessRejection("property xero_invoice_url does not exist", service="hubspot")
        original(deal_id, values)

    world.crm.update_markers = flaky  # type: ignore[method-assign]
    result, _ = world.run()
    assert result["status"] == "compensated" and result["failed_step"] == "write_back"
    markers = world.crm.deals["501"].markers
    assert markers.last_error == ("Not invoiced, rolled back at write_back: "
                                  "property xero_invoice_url does not exist")
    assert markers.model_copy(update={"last_error": ""}) == SyncMarkers()
    assert [i["status"] for i in world.acct.invoices.values()] == ["VOIDED"]


def test_deal_already_invoiced_by_the_app_is_a_no_op() -> None:
    world = World()
    world.crm.update_markers("501", {"sync_status": "synced", "invoice_id": "I-OLD", "invoice_number": "INV-9"})
    result, ctx = world.run()
    assert result["status"] == "already_synced"
    assert world.acct.invoices == {}
    assert ctx.names() == [names.RECORD_TRANSACTION, deal_saga.LOAD_DEAL.name, names.RECORD_TRANSACTION]
    # The ledger still says which deal it was, for the status page.
    assert (world.ledger[-1]["deal_name"], world.ledger[-1]["currency"]) == ("Deal 501", "EUR")
    assert world.ledger[-1]["external_ids"]["invoice_number"] == "INV-9"


def test_rate_limit_is_waited_out_without_a_duplicate_invoice() -> None:
    world = World()
    world.acct.faults.add("create_invoice", TransientError("429", retry_after=12, status=429))
    result, ctx = world.run()
    assert result["status"] == "completed" and len(world.acct.invoices) == 1
    assert 12.0 in ctx.timers


def test_paid_invoice_needs_a_person_and_a_compensate_finishes_the_rollback() -> None:
    world = World()

    def paid_then_refused(deal_id: str, values: Any) -> None:
        world.acct.invoices["I1"]["status"] = "PAID"  # the customer paid in the meantime
        raise PermanentError("deal locked", service="hubspot")

    world.on_write_back(paid_then_refused)
    result, ctx = world.run()
    assert result is None  # waiting for a person
    state = entity_state(ctx)
    assert state.status == "needs_attention"
    pending = {c["step"]: c["error"]["message"] for c in state.pending_compensations}
    assert "credit note" in pending["invoice"]
    # The contact the paid invoice uses is not archived under it: a person is told why and what unblocks it.
    assert "INV-0001 is still PAID" in pending["customer"]
    assert [c["status"] for c in world.acct.customers.values()] == ["ACTIVE"]


    # A person refunds the payment (the invoice is no longer PAID), then presses "compensate".
    world = World()
    world.on_write_back(paid_then_refused)

    def refund() -> None:
        world.acct.invoices["I1"]["status"] = "AUTHORISED"

    result, ctx = world.run((names.EVENT_COMPENSATE, refund))
    assert result["status"] == "compensated"
    assert world.acct.invoices["I1"]["status"] == "VOIDED"
    assert [c["status"] for c in world.acct.customers.values()] == ["ARCHIVED"]  # after its invoice
    markers = world.crm.deals["501"].markers
    assert markers.model_copy(update={"last_error": ""}) == SyncMarkers()
    assert markers.last_error == "Not invoiced, rolled back at write_back: deal locked"


def test_retry_after_a_data_fix_completes_the_transaction() -> None:
    world = World()
    world.acct.faults.add("create_invoice", BusinessRejection("Account code '200' is archived", service="xero"))
    world.acct.faults.add("archive_customer", PermanentError("xero maintenance", service="xero"))
    result, ctx = world.run(names.EVENT_RETRY)
    assert result["status"] == "completed"
    assert [i["status"] for i in world.acct.invoices.values()] == ["AUTHORISED"]
    assert entity_state(ctx).round == 1
    assert [t.to_status for t in entity_state(ctx).transitions] == [
        "running", "compensating", "needs_attention", "running", "completed"]


def test_two_deals_of_one_new_customer_share_the_contact_created_by_the_first() -> None:
    world = World()
    world.crm.add_won_deal("502", "77")  # same company
    first, _ = world.run()
    assert first["status"] == "completed"
    # The second deal's lookup ran before the first created the contact (a race between two sagas).
    world.acct.customers["C1"]["external_id"] = "hidden"
    original_find = world.acct.find_customer
    calls = {"n": 0}

    def stale_then_fresh(external_id: str, *, include_archived: bool = False) -> Any:
        calls["n"] += 1
        if calls["n"] > 1:
            world.acct.customers["C1"]["external_id"] = "77"
        return original_find(external_id, include_archived=include_archived)

    world.acct.find_customer = stale_then_fresh  # type: ignore[method-assign]
    ctx = world.context()
    ctx.instance_id, ctx.input = "deal-502", {**ctx.input, "deal_id": "502"}
    second = ctx.run(deal_sync(ctx))
    assert second["status"] == "completed"
    assert len(world.acct.customers) == 1
    assert {i["customer"] for i in world.acct.invoices.values()} == {"C1"}


def test_an_archived_customer_is_reactivated_and_archived_again_on_rollback() -> None:
    world = World()
    world.acct.customers["C9"] = {"id": "C9", "external_id": "77", "name": "Company 77", "status": "ARCHIVED"}
    world.acct.faults.add("create_invoice", PermanentError("bad", service="xero"))
    result, ctx = world.run()
    assert result["status"] == "compensated"
    assert world.acct.customers == {"C9": {"id": "C9", "external_id": "77", "name": "Company 77",
                                           "status": "ARCHIVED"}}
    assert deal_saga.ARCHIVE_CUSTOMER.name in ctx.names()


def test_a_customer_of_the_same_name_without_the_company_id_is_never_used_nor_archived() -> None:
    world = World()
    kept = {"id": "C7", "external_id": "", "name": "Company 77", "status": "ACTIVE"}
    world.acct.customers["C7"] = dict(kept)
    result, _ = world.run()
    assert result["status"] == "completed"
    ours = world.acct.invoices["I1"]["customer"]
    assert ours != "C7" and world.acct.customers[ours]["name"] == "Company 77 (HubSpot 77)"
    assert world.acct.customers[ours]["external_id"] == "77"
    assert world.acct.customers["C7"] == kept

    world = World()
    world.acct.customers["C7"] = dict(kept)
    world.acct.faults.add("create_invoice", PermanentError("bad", service="xero"))
    result, _ = world.run()
    assert result["status"] == "compensated"
    assert world.acct.customers["C7"] == kept  # theirs, not ours to archive
    assert [c["status"] for k, c in world.acct.customers.items() if k != "C7"] == ["ARCHIVED"]  # ours is


def test_rollback_keeps_a_customer_we_created_once_another_deals_invoice_uses_it() -> None:
    world = World()
    world.crm.add_won_deal("502", "77")  # the same company: the second deal adopted our new contact
    result, _ = world.run()
    assert result["status"] == "completed"
    [customer_id] = list(world.acct.customers)
    world.acct.invoices["I1"]["reference"] = "Deal 502"  # as if deal 502's invoice were the one using it

    undo = archive_customer_if_created(ArchiveCustomerInput(
        company_id="77", existed_before=False, customer_id=customer_id, created=True, reference="Deal 501"),
        world.acct)

    assert undo.outcome == "in_use"
    assert world.acct.customers[customer_id]["status"] == "ACTIVE"


def test_a_retry_round_that_fails_again_voids_the_invoice_it_made_not_the_one_voided_before() -> None:
    world = World()
    original_create = world.acct.create_invoice

    def refuse_first_write_back(deal_id: str, values: Any) -> None:  # round 0's: refused, so I1 is voided
        raise BusinessRejection("property xero_invoice_url does not exist", service="hubspot")

    def lose_round_one_answer(draft: Any, key: str) -> Any:
        ref = original_create(draft, key)
        if key.endswith(":r1"):  # round 1 creates I2, the answer is lost and Xero stays down
            world.acct.faults.add("find_invoices_by_reference",
                                  *[TransientError("503", service="xero", status=503)] * 2)
            raise TransientError("PUT /Invoices timed out", service="xero", code="timeout")
        return ref

    world.on_write_back(refuse_first_write_back)
    world.acct.create_invoice = lose_round_one_answer  # type: ignore[method-assign]
    world.acct.faults.add("archive_customer", PermanentError("xero maintenance", service="xero"))
    result, _ = world.run(names.EVENT_RETRY)
    assert result["status"] == "compensated"
    assert {i: v["status"] for i, v in world.acct.invoices.items()} == {"I1": "VOIDED", "I2": "VOIDED"}
    assert [c["status"] for c in world.acct.customers.values()] == ["ARCHIVED"]  # round 0 created it


def test_a_retry_on_a_deal_that_is_no_longer_won_rolls_back_instead_of_ending_with_undos_owed() -> None:
    world = World()

    def paid_then_refused(deal_id: str, values: Any) -> None:
        world.acct.invoices["I1"]["status"] = "PAID"
        raise PermanentError("deal locked", service="hubspot")

    def reopen_and_refund() -> None:  # a person credits the invoice and moves the deal out of "won"
        world.crm.deals["501"] = world.crm.deals["501"].model_copy(update={"stage": "contractsent"})
        world.acct.invoices["I1"]["status"] = "AUTHORISED"

    world.on_write_back(paid_then_refused)
    result, ctx = world.run((names.EVENT_RETRY, reopen_and_refund))
    assert result["status"] == "compensated"  # not "skipped" with its undos forgotten
    assert entity_state(ctx).reason["code"] == "no_longer_won"  # type: ignore[index]
    assert world.acct.invoices["I1"]["status"] == "VOIDED"
    assert [c["status"] for c in world.acct.customers.values()] == ["ARCHIVED"]


def test_the_saga_never_erases_the_paid_marker_that_the_paid_invoice_write_back_set() -> None:
    world = World()
    original = world.crm.update_markers
    # The invoice was paid, and marked on the deal, while the write-back retried.
    world.on_write_back(lambda deal_id, _: original(deal_id, {"paid_status": "paid", "paid_date": "2026-01-05"}))
    result, _ = world.run()
    markers = world.crm.deals["501"].markers
    assert result["status"] == "completed"
    assert (markers.sync_status, markers.paid_status, markers.paid_date) == ("synced", "paid", "2026-01-05")


def test_a_second_click_meant_for_an_earlier_round_does_not_decide_the_next_question() -> None:
    world = World()
    # Round 0 and round 1 both end needing a person (the contact cannot be archived, twice).
    world.acct.faults.add("create_invoice", BusinessRejection("Account code '200' is archived", service="xero"),
                          BusinessRejection("Account code '200' is archived", service="xero"))
    world.acct.faults.add("archive_customer", PermanentError("xero maintenance", service="xero"),
                          PermanentError("xero maintenance", service="xero"))
    # A person clicked Retry twice while round 0 waited: the host keeps the second click, named for round 0.
    stale = names.manual_event(names.EVENT_RETRY, 0)
    result, ctx = world.run(stale, stale)
    assert result is None  # round 1 waits for a real decision instead of taking the stale click
    state = entity_state(ctx)
    assert (state.status, state.round) == ("needs_attention", 1)


def test_a_new_attempt_after_a_stopped_orchestration_reuses_the_invoice_it_left_and_takes_over_its_claim() -> None:
    world = World()
    first, _ = world.run()  # generation 1 makes invoice I1 and claims the deal...
    assert first["status"] == "completed"
    # ...then, as if it had stopped before its write-back, the deal still says "in progress by deal-501".
    world.crm.update_markers("501", {"sync_status": "in_progress", "transaction_id": "deal-501", "invoice_id": ""})
    ctx = world.context()
    ctx.instance_id = "deal-501-g2"
    ctx.input = {**ctx.input, "generation": 2, "after_stranded": True}
    result = ctx.run(deal_sync(ctx))
    assert result["status"] == "completed" and result["invoice_id"] == "I1"
    assert list(world.acct.invoices) == ["I1"]  # reused, not duplicated
    markers = world.crm.deals["501"].markers
    assert (markers.sync_status, markers.transaction_id) == ("synced", "deal-501-g2")


def test_a_new_attempt_on_a_deal_no_longer_won_but_still_claimed_by_a_stopped_one_says_what_to_clear() -> None:
    world = World()
    world.crm.update_markers("501", {"sync_status": "in_progress", "transaction_id": "deal-501"})
    world.crm.deals["501"] = world.crm.deals["501"].model_copy(update={"stage": "contractsent"})
    ctx = world.context()
    ctx.instance_id = "deal-501-g2"
    ctx.input = {**ctx.input, "generation": 2, "after_stranded": True}
    result = ctx.run(deal_sync(ctx))
    assert result["status"] == "compensated" and result["reason"]["code"] == "stale_claim"  # not a silent skip
    assert "clear the deal's invoice sync status" in result["reason"]["message"]
    assert world.acct.invoices == {}
