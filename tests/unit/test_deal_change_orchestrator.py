"""The deal_change orchestration: a life event of an invoiced deal as a transaction of its own kind, replay-safe."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from orchestrators.deal_change import deal_change
from shared import names
from shared.domain.errors import TransientError
from shared.domain.invoice_mapping import MappingRules, build_invoice
from shared.domain.transaction import TransactionState, apply, check_manual
from shared.saga.envelope import run_activity
from shared.sync import life_events
from tests.support.fake_durable import FakeDurableContext
from tests.support.fake_ports import FakeAccounting, FakeCrm

POLICY = {"step_max_attempts": 3, "step_retry_first_seconds": 1, "step_retry_max_seconds": 10,
          "compensation_max_attempts": 3, "deadline_minutes": 60}
TX = "deal-501-change1"


class World:
    def __init__(self) -> None:
        self.crm, self.acct = FakeCrm(), FakeAccounting()
        self.crm.add_won_deal("501", "77")
        draft = build_invoice(self.crm.deals["501"], (self.crm.items["501-1"],), "C1",
                              FakeDurableContext(activities={}).current_utc_datetime.date(), MappingRules())
        self.invoice_id = self.acct.create_invoice(draft, "deal-501:invoice:r0").id
        self.crm.update_markers("501", {"sync_status": "synced", "invoice_id": self.invoice_id,
                                        "transaction_id": "deal-501"})
        self.ledger: list[dict[str, Any]] = []

    def activities(self) -> dict[str, Any]:
        return {
            names.READ_LIFE_EVENT: lambda p: run_activity(lambda q: life_events.read_life_event(
                life_events.LifeEventInput.model_validate(q), self.crm, self.acct, MappingRules(), "closedwon",
                lambda _d: self.invoice_id), p),
            names.APPLY_LIFE_EVENT: lambda p: run_activity(lambda q: life_events.apply_life_event(
                life_events.ApplyInput.model_validate(q), self.crm, self.acct), p),
            names.RECORD_TRANSACTION: self.ledger.append,
        }

    def context(self, event: str = "changed", **settings: Any) -> FakeDurableContext:
        return FakeDurableContext(activities=self.activities(), instance_id=TX,
                                  input={"deal_id": "501", "event": event, "policy": POLICY, **settings})

    def run(self, event: str = "changed", **settings: Any) -> tuple[Any, FakeDurableContext]:
        ctx = self.context(event, **settings)
        return ctx.run(deal_change(ctx)), ctx

    def set_quantity(self, quantity: str) -> None:
        self.crm.items["501-1"] = self.crm.items["501-1"].model_copy(update={"quantity": Decimal(quantity)})


def entity(ctx: FakeDurableContext) -> TransactionState:
    state = None
    for entity_name, key, op, payload in ctx.signals:
        assert (entity_name, key, op) == (names.SYNC_TRANSACTION, TX, "apply")
        state = apply(state, payload)
    assert state is not None
    return state


def test_an_amount_change_updates_the_invoice_as_a_completed_invoice_update_transaction() -> None:
    world = World()
    world.set_quantity("5")
    out, ctx = world.run()
    assert out["status"] == "completed" and out["kind"] == "invoice_update" and out["outcome"] == "updated"
    state = entity(ctx)
    assert (state.kind, state.status, state.amount, state.external_ids["invoice"]) == (
        "invoice_update", "completed", "200.00", world.invoice_id)
    assert [s.name for s in state.steps] == ["read", "update"]
    assert [row["status"] for row in world.ledger] == ["running", "completed"]
    assert world.ledger[-1]["kind"] == "invoice_update"


def test_nothing_to_do_leaves_no_transaction_at_all() -> None:
    world = World()
    out, ctx = world.run()
    assert out["status"] == "no_op" and "already matches" in out["reason"]
    assert ctx.signals == [] and world.ledger == []


def test_a_paid_invoices_deal_lost_is_a_visible_needs_attention_credit_note_needed_and_nothing_voided() -> None:
    world = World()
    world.acct.invoices[world.invoice_id]["status"] = "PAID"
    world.crm.deals["501"] = world.crm.deals["501"].model_copy(update={"stage": "closedlost"})
    out, ctx = world.run("lost")
    state = entity(ctx)
    assert (state.kind, state.status) == ("invoice_void", "needs_attention")
    assert state.reason is not None and state.reason["code"] == "credit_note_needed"
    assert world.acct.invoices[world.invoice_id]["status"] == "PAID"
    # A person reads it; there is nothing to retry or roll back, and no new sync to start.
    assert check_manual(state, "retry") is not None and check_manual(state, "compensate") is not None
    assert out["status"] == "needs_attention"


def test_a_read_that_fails_for_good_is_handed_to_a_person_as_a_transaction() -> None:
    world = World()
    world.crm.faults.check = lambda method: (_ for _ in ()).throw(  # type: ignore[method-assign]
        TransientError("HubSpot is away", service="hubspot", code="unavailable"))
    out, ctx = world.run()
    assert out["status"] == "needs_attention"
    state = entity(ctx)
    assert (state.status, state.kind) == ("needs_attention", "invoice_update")
    assert state.reason is not None and "HubSpot is away" in state.reason["message"]
    assert len(ctx.timers) == 2  # three attempts, on durable timers


class Recorded(FakeDurableContext):
    """Records every task's outcome, as the host's history does."""

    history: list[tuple[str, str, str]]

    def _complete(self, task: Any) -> Any:
        try:
            value = super()._complete(task)
        except Exception as exc:
            self.history.append((getattr(task, "name", ""), task.input_json, "!" + str(exc)))
            raise
        self.history.append((getattr(task, "name", ""), task.input_json, json.dumps(value)))
        return value


class Replayed(FakeDurableContext):
    """Answers every task from a recorded history and fails on any task the first run did not schedule."""

    history: list[tuple[str, str, str]]

    def _complete(self, task: Any) -> Any:
        name, input_json, outcome = self.history.pop(0)
        assert (getattr(task, "name", ""), task.input_json) == (name, input_json), "replay diverged"
        if outcome.startswith("!"):
            raise Exception(outcome[1:])
        return json.loads(outcome)


def test_a_replay_schedules_the_same_tasks_and_calls_nothing_again() -> None:
    world = World()
    world.set_quantity("5")
    # A transient refusal on the first edit: the history holds a failure and a durable timer.
    original, calls = world.acct.update_invoice_lines, {"n": 0}

    def flaky(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransientError("Xero is busy", service="xero", code="unavailable")
        return original(*args)

    world.acct.update_invoice_lines = flaky  # type: ignore[method-assign]
    first = Recorded(activities=world.activities(), instance_id=TX,
                     input={"deal_id": "501", "event": "changed", "policy": POLICY})
    first.history = []
    out = first.run(deal_change(first))
    edits, crm_calls = world.acct.invoices[world.invoice_id]["edits"], world.crm.calls
    again = Replayed(activities={}, instance_id=TX, input={"deal_id": "501", "event": "changed", "policy": POLICY})
    again.history = list(first.history)
    assert again.run(deal_change(again)) == out
    assert again.history == [] and again.signals == first.signals and again.timers == first.timers
    assert world.acct.invoices[world.invoice_id]["edits"] == edits == 1 and world.crm.calls == crm_calls
