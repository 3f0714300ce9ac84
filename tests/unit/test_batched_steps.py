"""Batched saga steps: the queue's reducer, one batch's replies, and a deal's batched attempt."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.domain.errors import BusinessRejection
from shared.domain.invoice_mapping import MappingRules
from shared.domain.models import Company, Customer, Deal, LineItem
from shared.saga.retry import single_attempt
from shared.sync import batch_queue, batching
from shared.sync.batch_port import OneByOne
from shared.sync.batch_steps import BatchRequest, run_batch
from shared.sync.batched_attempt import batched
from shared.sync.deal_saga import ACTIVITIES
from shared.sync.messages import CreateInvoiceInput, EnsureCustomerInput
from shared.sync.step_ports import Ports
from tests.support.fake_durable import FakeDurableContext
from tests.support.fake_ports import FakeAccounting, FakeCrm

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _item(key: str, attempt: int = 1) -> dict[str, Any]:
    return {"key": key, "instance": key.partition(":")[0], "event": f"step:invoice:r0:a{attempt}", "attempt": attempt,
            "payload": {}, "may_exist": attempt > 1}


def _enqueue(state: Any, key: str, at: datetime = T0, **extra: Any) -> tuple[Any, Any]:
    return batch_queue.apply_queue(state, "enqueue", {"item": _item(key), "now": at.isoformat(),
                                                      "lease_seconds": 60, "solo_ok": True, **extra})


# --- the queue ---

def test_a_lone_step_goes_alone_and_the_next_ones_queue_and_wake_one_flusher() -> None:
    state, first = _enqueue(None, "deal-1:invoice:r0")
    assert first == {"solo": True} and state["items"] == []
    state, second = _enqueue(state, "deal-2:invoice:r0")
    state, third = _enqueue(state, "deal-3:invoice:r0")
    assert second == {"queued": True, "wake": 1} and third == {"queued": True}
    # After the lone step, a short cool-down: the rest of its burst queues rather than going alone too.
    state, _ = batch_queue.apply_queue(state, "solo_done", {"now": T0.isoformat()})
    state, _ = batch_queue.apply_queue(state, "take", {"max": 50, "batch": "b0", "epoch": 1, "now": T0.isoformat()})
    state, _ = batch_queue.apply_queue(state, "take", {"max": 50, "batch": "b1", "epoch": 1, "now": T0.isoformat()})
    _, again = _enqueue(state, "deal-4:invoice:r0", T0 + timedelta(seconds=2))
    assert again == {"queued": True, "wake": 2}
    _, later = _enqueue(state, "deal-4:invoice:r0", T0 + timedelta(seconds=30))
    assert later == {"solo": True}


def test_take_is_oldest_first_up_to_the_limit_and_an_empty_take_ends_the_flusher() -> None:
    state = None
    for n in range(1, 5):
        state, _ = _enqueue(state, f"deal-{n}:invoice:r0", solo_ok=False)
    state, taken = batch_queue.apply_queue(state, "take", {"max": 3, "batch": "b0", "epoch": 1, "now": T0.isoformat()})
    assert [i["key"] for i in taken["items"]] == ["deal-1:invoice:r0", "deal-2:invoice:r0", "deal-3:invoice:r0"]
    state, taken = batch_queue.apply_queue(state, "take", {"max": 3, "batch": "b1", "epoch": 1, "now": T0.isoformat()})
    assert len(taken["items"]) == 1
    state, taken = batch_queue.apply_queue(state, "take", {"max": 3, "batch": "b2", "epoch": 1, "now": T0.isoformat()})
    assert taken == {"items": []} and state["active"] is False


def _take(state: Any, at: datetime, max_: int = 50, **gather: Any) -> tuple[Any, Any]:
    return batch_queue.apply_queue(state, "take", {"max": max_, "batch": "b0", "epoch": 1, "now": at.isoformat(),
                                                   **gather})


GATHER = {"quiet_seconds": 1.0, "max_wait_seconds": 10.0}


def test_a_partial_batch_waits_while_deals_still_arrive_and_leaves_once_they_pause() -> None:
    state = None
    for n in range(3):
        state, _ = _enqueue(state, f"deal-{n}:invoice:r0", T0 + timedelta(seconds=n * 0.5), solo_ok=False, gather=True)
    state, early = _take(state, T0 + timedelta(seconds=1.2), **GATHER)
    assert early == {"items": [], "wait_until": (T0 + timedelta(seconds=2)).isoformat()}  # 1 s after the last
    state, _ = _enqueue(state, "deal-3:invoice:r0", T0 + timedelta(seconds=1.8), solo_ok=False, gather=True)
    state, still = _take(state, T0 + timedelta(seconds=2), **GATHER)
    assert still["wait_until"] == (T0 + timedelta(seconds=2.8)).isoformat()
    state, taken = _take(state, T0 + timedelta(seconds=2.8), **GATHER)
    assert [i["key"] for i in taken["items"]] == [f"deal-{n}:invoice:r0" for n in range(4)]
    assert state["queued_at"] == {}


def test_a_full_batch_leaves_at_once_and_a_steady_trickle_leaves_when_its_oldest_deal_waited_the_longest() -> None:
    state = None
    for n in range(50):
        state, _ = _enqueue(state, f"deal-{n}:invoice:r0", T0, solo_ok=False, gather=True)
    state, full = _take(state, T0, **GATHER)
    assert len(full["items"]) == 50
    for n in range(20):  # one deal every 0.5 s: arrivals never pause for a second
        state, _ = _enqueue(state, f"deal-{50 + n}:invoice:r0", T0 + timedelta(seconds=n * 0.5),
                            solo_ok=False, gather=True)
    state, waiting = _take(state, T0 + timedelta(seconds=9.6), **GATHER)
    assert waiting["wait_until"] == (T0 + timedelta(seconds=10)).isoformat()  # the oldest's 10 s, not 1 s on
    state, trickle = _take(state, T0 + timedelta(seconds=10), **GATHER)
    assert len(trickle["items"]) == 20


def test_a_lone_deal_s_next_step_of_the_same_kind_goes_alone_again_within_the_cool_down() -> None:
    state, _ = _enqueue(None, "deal-1:claim:r0")
    state, _ = batch_queue.apply_queue(state, "solo_done", {"now": T0.isoformat()})
    state, own = _enqueue(state, "deal-1:write_back:r0", T0 + timedelta(seconds=0.1))
    assert own == {"solo": True}  # the cool-down holds back others, not the deal that went alone


def test_a_lone_deal_s_step_that_queues_leaves_at_once_whatever_the_gather() -> None:
    # Another lone deal, within the first one's cool-down: it queues, but nobody else is coming.
    state, _ = _enqueue(None, "deal-1:claim:r0")
    state, _ = batch_queue.apply_queue(state, "solo_done", {"now": T0.isoformat()})
    state, queued = _enqueue(state, "deal-2:claim:r0", T0 + timedelta(seconds=0.1))
    assert queued["queued"]
    state, now = _take(state, T0 + timedelta(seconds=0.1), **GATHER)
    assert [i["key"] for i in now["items"]] == ["deal-2:claim:r0"]


def test_without_a_gather_a_batch_leaves_at_once_and_a_gathering_flusher_counts_as_alive() -> None:
    state, _ = _enqueue(None, "deal-1:invoice:r0", solo_ok=False)
    state, now = _take(state, T0)
    assert len(now["items"]) == 1  # an entity state or a flusher from before the gather: as before
    state, _ = _enqueue(state, "deal-2:invoice:r0", solo_ok=False, gather=True)
    state, _ = _take(state, T0 + timedelta(seconds=0.5), **GATHER)
    _, joined = _enqueue(state, "deal-3:invoice:r0", T0 + timedelta(seconds=50), solo_ok=False)
    assert joined == {"queued": True}  # no second flusher while the first gathers


def test_withdraw_says_whether_the_item_was_never_sent_or_taken_by_which_batch() -> None:
    state, _ = _enqueue(None, "deal-1:invoice:r0", solo_ok=False)
    state, _ = _enqueue(state, "deal-2:invoice:r0", solo_ok=False)
    state, _ = batch_queue.apply_queue(state, "take", {"max": 1, "batch": "b0", "epoch": 1, "now": T0.isoformat()})
    state, gone = batch_queue.apply_queue(state, "withdraw", {"key": "deal-2:invoice:r0"})
    assert gone == {"withdrawn": True} and state["items"] == []
    state, taken = batch_queue.apply_queue(state, "withdraw", {"key": "deal-1:invoice:r0"})
    # Taken: the batch's items as taken come back, so that the deal sends that very request again.
    assert taken["taken"] == "b0" and [i["key"] for i in taken["resend"]["items"]] == ["deal-1:invoice:r0"]
    state, _ = batch_queue.apply_queue(state, "done", {"batch": "b0"})
    assert state["taken"] == {} and state["batches"] == {} and state["given_up"] == {}


def test_a_deal_that_gave_up_on_a_batch_re_sends_it_at_every_attempt_until_xero_answered_it() -> None:
    state, _ = _enqueue(None, "deal-1:invoice:r0", solo_ok=False)
    state, _ = batch_queue.apply_queue(state, "take", {"max": 1, "batch": "b0", "epoch": 1, "now": T0.isoformat()})
    state, _ = batch_queue.apply_queue(state, "withdraw", {"key": "deal-1:invoice:r0"})
    state, again = _enqueue(state, "deal-1:invoice:r0", T0 + timedelta(seconds=90))
    assert again["resend"]["batch"] == "b0" and state["items"] == []  # not queued for another batch
    state, _ = batch_queue.apply_queue(state, "settled", {"key": "deal-1:invoice:r0"})
    state, later = _enqueue(state, "deal-1:invoice:r0", T0 + timedelta(seconds=95), solo_ok=False)
    assert "resend" not in later and [i["key"] for i in state["items"]] == ["deal-1:invoice:r0"]


def test_a_flusher_silent_past_its_lease_is_replaced_and_the_old_one_told_it_is_stale() -> None:
    state, _ = _enqueue(None, "deal-1:invoice:r0", solo_ok=False)
    state, _ = batch_queue.apply_queue(state, "take", {"max": 50, "batch": "b0", "epoch": 1, "now": T0.isoformat()})
    state, soon = _enqueue(state, "deal-2:invoice:r0", T0 + timedelta(seconds=30), solo_ok=False)
    assert soon == {"queued": True}
    state, late = _enqueue(state, "deal-3:invoice:r0", T0 + timedelta(seconds=61), solo_ok=False)
    assert late == {"queued": True, "wake": 2}
    _, stale = batch_queue.apply_queue(state, "take", {"max": 50, "batch": "b1", "epoch": 1, "now": T0.isoformat()})
    assert stale == {"items": [], "stale": True}


def test_the_batch_key_depends_on_the_composition_only() -> None:
    one = batching.batch_key("invoice", ["deal-1:invoice:r0:a1", "deal-2:invoice:r0:a1"])
    assert one == batching.batch_key("invoice", ["deal-2:invoice:r0:a1", "deal-1:invoice:r0:a1"])
    assert one != batching.batch_key("invoice", ["deal-1:invoice:r0:a2", "deal-2:invoice:r0:a1"])
    assert len(one) <= 128


# --- one batch ---

def _invoice_item(n: int, acct: FakeAccounting, *, attempt: int = 1, currency: str = "EUR") -> batching.QueueItem:
    deal = Deal(id=str(n), name=f"Deal {n}", stage="closedwon", amount=None, currency=currency,
                company_ids=("77",), line_item_ids=("L1",))
    payload = CreateInvoiceInput(tx_id=f"deal-{n}", round=0, deal=deal, customer_id="C1", today=date(2026, 1, 5),
                                 line_items=(LineItem(id="L1", name="Licence", quantity=1, unit_price=100),))
    return batching.QueueItem(key=f"deal-{n}:invoice:r0", instance=f"deal-{n}", event="e", attempt=attempt,
                              payload=payload.model_dump(mode="json"), may_exist=attempt > 1)


def _ports(acct: FakeAccounting, crm: FakeCrm | None = None) -> Ports:
    return Ports(crm=crm or FakeCrm(), accounting=acct, rules=MappingRules(), trigger_stage="closedwon")


def test_one_refused_element_is_that_deal_s_rejection_and_the_others_are_made() -> None:
    acct = FakeAccounting()
    items = [_invoice_item(n, acct) for n in range(1, 6)]
    original = acct.create_invoice

    def refuse_third(draft: Any, key: str) -> Any:
        if draft.reference.endswith("3"):
            raise BusinessRejection("Account code '200' is not a valid code", service="xero", code="validation")
        return original(draft, key)

    acct.create_invoice = refuse_third  # type: ignore[method-assign]
    reply = run_batch(BatchRequest(batch_id="B", kind="invoice", key="k", items=items), _ports(acct), OneByOne(acct))
    refused = reply.results["deal-3:invoice:r0"]
    assert refused["ok"] is False and "Account code" in refused["error"]["message"]
    assert refused["error"]["kind"] == "rejected"
    made = [reply.results[f"deal-{n}:invoice:r0"] for n in (1, 2, 4, 5)]
    assert all(r["ok"] for r in made) and {r["result"]["batch"]["size"] for r in made} == {5}
    assert (reply.ok, reply.rejected) == (4, 1) and len(acct.invoices) == 4


def test_a_re_run_of_the_same_batch_makes_nothing_new_and_a_retried_item_is_found_first() -> None:
    acct = FakeAccounting()
    items = [_invoice_item(n, acct) for n in (1, 2)]
    request = BatchRequest(batch_id="B", kind="invoice", key="k", items=items)
    first = run_batch(request, _ports(acct), OneByOne(acct))
    again = run_batch(request, _ports(acct), OneByOne(acct))
    assert first.results == again.results and len(acct.invoices) == 2
    retried = BatchRequest(batch_id="B2", kind="invoice", key="k2", items=[_invoice_item(1, acct, attempt=2)])
    reply = run_batch(retried, _ports(acct), OneByOne(acct))
    assert reply.results["deal-1:invoice:r0"]["result"]["reused"] is True and len(acct.invoices) == 2


def test_a_re_run_of_a_batch_with_a_retried_item_sends_its_new_items_under_the_same_key() -> None:
    # The retried item is found on the re-run (the first run made it): what is sent for the others must not
    # change with it, or its new key would make them a second time.
    acct = FakeAccounting()
    request = BatchRequest(batch_id="B", kind="invoice", key="k",
                           items=[_invoice_item(1, acct), _invoice_item(2, acct, attempt=2)])
    first = run_batch(request, _ports(acct), OneByOne(acct))
    again = run_batch(request, _ports(acct), OneByOne(acct))
    assert sorted(i["reference"] for i in acct.invoices.values()) == ["Deal 1", "Deal 2"]
    assert again.results["deal-1:invoice:r0"] == first.results["deal-1:invoice:r0"]


def test_deals_of_one_company_share_one_new_customer_and_the_first_owns_its_undo() -> None:
    acct, crm = FakeAccounting(), FakeCrm()
    company = Company(id="77", name="Northwind")
    items = [batching.QueueItem(key=f"deal-{n}:customer:r0", instance=f"deal-{n}", event="e", attempt=1,
                                payload=EnsureCustomerInput(tx_id=f"deal-{n}", round=0, company_id="77",
                                                            company=company).model_dump(mode="json"))
             for n in (2, 1)]
    reply = run_batch(BatchRequest(batch_id="B", kind="customer", key="k", items=items), _ports(acct, crm),
                      OneByOne(acct))
    assert len(acct.customers) == 1
    one, two = reply.results["deal-1:customer:r0"]["result"], reply.results["deal-2:customer:r0"]["result"]
    assert (one["created"], two["created"]) == (True, False)
    assert one["customer"]["id"] == two["customer"]["id"]


# --- a deal's batched attempt ---

def _queue_context(acct: FakeAccounting, events: list[Any], *, taken_at_once: bool = False,
                   late_before_withdraw: bool = False,
                   forget_batches: bool = False) -> tuple[FakeDurableContext, dict[str, Any]]:
    held: dict[str, Any] = {"state": None}

    def entity(operation: str, request: Any) -> Any:
        if operation == "withdraw" and late_before_withdraw:  # the old batch's activity runs just before
            _run(_late_batch(held), acct)
        held["state"], result = batch_queue.apply_queue(held["state"], operation, request)
        if operation == "enqueue" and taken_at_once:  # a batch takes it at once, and never answers
            held["state"], took = batch_queue.apply_queue(held["state"], "take", {
                "max": 50, "batch": "B", "epoch": held["state"]["epoch"], "now": request["now"]})
            held["took"] = took["items"]
            if forget_batches:  # dropped (the queue keeps a bounded number), or taken before it kept any
                held["state"]["batches"] = {}
        return result

    ports = _ports(acct)
    ctx = FakeDurableContext(activities={"create_invoice": lambda p: ACTIVITIES["create_invoice"].run(p, ports),
                                         batching.RUN_BATCH: lambda p: _run(p, acct),
                                         batching.WAKE_FLUSHER: lambda p: "woken"},
                             entities={(batching.QUEUE_ENTITY, "org:invoice"): entity}, events=events,
                             instance_id="deal-1")
    return ctx, held


def test_a_lone_deal_calls_its_activity_at_once() -> None:
    acct = FakeAccounting()
    ctx, _ = _queue_context(acct, [])
    payload = _invoice_item(1, acct).payload
    reply = ctx.run(batched("invoice", "org", 60)(ctx, "create_invoice", payload, True, 1))
    assert reply["ok"] and ctx.names() == ["create_invoice"]
    assert ctx.signals[-1][2] == "solo_done"


def test_a_queued_deal_takes_the_reply_delivered_to_its_attempt_s_event() -> None:
    acct = FakeAccounting()
    delivered = {"ok": True, "result": {"from": "the batch"}}
    ctx, held = _queue_context(acct, [("step:invoice:r0:a1", None, json.dumps(delivered))])
    held["state"], _ = batch_queue.apply_queue(None, "enqueue", {"item": _item("deal-9:invoice:r0"), "now":
                                                                 T0.isoformat(), "lease_seconds": 60})
    reply = ctx.run(batched("invoice", "org", 60)(ctx, "create_invoice", _invoice_item(1, acct).payload, True, 1))
    assert reply == delivered and ctx.names() == []  # a flusher was woken for the deal queued first


def test_a_wave_s_first_deal_queues_and_wakes_a_flusher_with_its_gather_capped_inside_its_own_wait() -> None:
    from shared.application.batch_flushing import WakeRequest

    acct = FakeAccounting()
    delivered = {"ok": True, "result": {"from": "the batch"}}
    ctx, held = _queue_context(acct, [("step:invoice:r0:a1", None, json.dumps(delivered))])
    wave = batching.Gather(solo=False, seconds=1, max_seconds=30)
    reply = ctx.run(batched("invoice", "org", 60, "", wave)(ctx, "create_invoice", _invoice_item(1, acct).payload,
                                                             True, 1))
    assert reply == delivered and "create_invoice" not in ctx.names()  # nothing queued, yet it did not go alone
    [wake] = [p for name, p in ctx.calls if name == batching.WAKE_FLUSHER]
    assert held["state"]["grouped"] == {"deal-1:invoice:r0": True}  # its batch may gather for the rest
    assert WakeRequest.model_validate(wake) == WakeRequest(org="org", kind="invoice", epoch=1, lease_seconds=60,
                                                           gather_seconds=1, gather_max_seconds=20)


def test_a_deal_whose_batch_never_answers_withdraws_and_re_sends_that_very_batch() -> None:
    acct = FakeAccounting()
    ctx, held = _queue_context(acct, [], taken_at_once=True)
    held["state"], _ = batch_queue.apply_queue(None, "solo_done", {"now": T0.isoformat()})  # no lone call now
    # A wait of 0 s: the fake fires a timer only once it is due (the host would after the wait).
    reply = ctx.run(batched("invoice", "org", 0)(ctx, "create_invoice", _invoice_item(1, acct).payload, True, 1))
    assert reply["ok"]
    assert ctx.calls[-1] == (batching.RUN_BATCH, _late_batch(held))  # the flusher's request, byte for byte
    assert ctx.signals[-1][2:] == ("settled", {"key": "deal-1:invoice:r0"})


def test_a_deal_whose_batch_the_queue_no_longer_knows_goes_alone_looking_first() -> None:
    acct = FakeAccounting()
    ctx, held = _queue_context(acct, [], taken_at_once=True, forget_batches=True)
    held["state"], _ = batch_queue.apply_queue(None, "solo_done", {"now": T0.isoformat()})  # no lone call now
    reply = ctx.run(batched("invoice", "org", 0)(ctx, "create_invoice", _invoice_item(1, acct).payload, True, 1))
    assert reply["ok"]
    assert ctx.calls[-1][0] == "create_invoice" and ctx.calls[-1][1]["may_exist"] is True


def _run(request: Any, acct: FakeAccounting) -> Any:
    reply = run_batch(BatchRequest.model_validate(request), _ports(acct), OneByOne(acct))
    return reply.model_dump(mode="json")


def _late_batch(held: dict[str, Any]) -> dict[str, Any]:
    """The request the flusher made of what batch B took: what its activity sends when it runs at last."""
    items = [batching.QueueItem.model_validate(i) for i in held["took"]]
    return {"batch_id": "B", "kind": "invoice", "key": batching.batch_key("invoice", [batching.attempt_key(i)
                                                                                       for i in items]),
            "items": [i.model_dump(mode="json") for i in items]}


@pytest.mark.parametrize("late_first", [False, True], ids=["old batch after the deal", "old batch before the deal"])
def test_a_deal_that_gave_up_on_its_batch_and_the_batch_running_late_make_one_invoice(late_first: bool) -> None:
    # The batch's activity runs late (its host died, the work item runs again minutes later), after or just
    # before the deal's wait ran out: whatever the order, Xero must hold one invoice.
    acct = FakeAccounting()
    ctx, held = _queue_context(acct, [], taken_at_once=True, late_before_withdraw=late_first)
    held["state"], _ = batch_queue.apply_queue(None, "solo_done", {"now": T0.isoformat()})  # no lone call now
    reply = ctx.run(batched("invoice", "org", 0)(ctx, "create_invoice", _invoice_item(1, acct).payload, True, 1))
    if not late_first:
        _run(_late_batch(held), acct)
    assert reply["ok"]
    assert [i["reference"] for i in acct.invoices.values()] == ["Deal 1"]
    assert reply["result"]["batch"]["batch_id"] == "B"  # the deal's step says which batch made it


def test_single_attempt_is_the_default_attempt() -> None:
    ctx = FakeDurableContext(activities={"a": lambda p: {"ok": True, "result": p}})
    assert ctx.run(single_attempt(ctx, "a", {"x": 1}, True)) == {"ok": True, "result": {"x": 1}}


# --- the kill switch and the flusher ---

def test_batched_steps_is_frozen_in_the_policy_and_an_input_without_it_replays_unbatched(
    app_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.config import get_settings, reset_settings
    from shared.sync.deal_saga import build_deal_saga
    from shared.sync.policy import SagaPolicy

    monkeypatch.setenv("XERO_TENANT_ID", "t-1")
    reset_settings()
    on = SagaPolicy.from_settings(get_settings())
    monkeypatch.setenv("BATCHED_STEPS", "false")
    reset_settings()
    off = SagaPolicy.from_settings(get_settings())
    recorded = SagaPolicy.model_validate({"step_max_attempts": 3})  # an input written before the switch existed
    assert (on.batched_steps, on.batch_org, off.batched_steps, recorded.batched_steps) == (True, "t-1", False, False)
    batched_steps = {s.name for s in build_deal_saga(on).steps if s.attempt is not None}
    assert batched_steps == {"load", "claim", "customer", "invoice", "write_back"}
    assert {s.name for s in build_deal_saga(on).steps if s.compensation_attempt is not None} == {
        "claim", "customer", "invoice", "write_back"}
    assert all(s.attempt is None and s.compensation_attempt is None for s in build_deal_saga(off).steps)


def test_the_flusher_takes_runs_one_batch_delivers_each_deal_its_reply_and_ends_when_idle() -> None:
    from orchestrators.batch_flusher import batch_flusher
    from shared.application.batch_flushing import DeliveryRequest

    held: dict[str, Any] = {"state": None}
    for n in (1, 2, 3):
        held["state"], _ = batch_queue.apply_queue(held["state"], "enqueue", {
            "item": _item(f"deal-{n}:invoice:r0"), "now": T0.isoformat(), "lease_seconds": 60})

    def entity(operation: str, request: Any) -> Any:
        held["state"], result = batch_queue.apply_queue(held["state"], operation, request)
        return result

    delivered: list[Any] = []

    def run(request: Any) -> Any:
        return {"results": {i["key"]: {"ok": True, "result": i["key"]} for i in request["items"][:2]}}

    ctx = FakeDurableContext(activities={batching.RUN_BATCH: run, batching.DELIVER_BATCH: delivered.append},
                             entities={(batching.QUEUE_ENTITY, "org:invoice"): entity},
                             input={"org": "org", "kind": "invoice", "epoch": 1}, instance_id="flush-org-invoice-e1")
    result = ctx.run(batch_flusher(ctx))
    assert result == {"batches": 1, "ended": "idle"}
    DeliveryRequest.model_validate(delivered[0])  # the delivery activity's input model
    [batch] = [p for name, p in ctx.calls if name == batching.RUN_BATCH]
    assert batch["batch_id"] == "flush-org-invoice-e1-b0" and len(batch["items"]) == 3
    data = {d["instance"]: d["data"] for d in delivered[0]["deliveries"]}
    assert data["deal-1"] == {"ok": True, "result": "deal-1:invoice:r0"}
    assert data["deal-3"]["ok"] is False and data["deal-3"]["error"]["kind"] == "transient"  # unanswered: retried
    assert ctx.signals == [(batching.QUEUE_ENTITY, "org:invoice", "done", {"batch": "flush-org-invoice-e1-b0"})]
    assert held["state"]["active"] is False


def test_a_gathering_flusher_sleeps_until_the_queue_says_and_then_sends_one_full_batch() -> None:
    from orchestrators.batch_flusher import batch_flusher

    held: dict[str, Any] = {"state": None, "arrivals": [f"deal-{n}:invoice:r0" for n in range(2, 6)]}
    held["state"], _ = batch_queue.apply_queue(None, "enqueue", {
        "item": _item("deal-1:invoice:r0"), "now": T0.isoformat(), "lease_seconds": 60,
        "gather": True})

    def entity(operation: str, request: Any) -> Any:
        if operation == "take" and held["arrivals"]:  # the rest of the wave arrives while the flusher sleeps
            key = held["arrivals"].pop(0)
            held["state"], _ = batch_queue.apply_queue(held["state"], "enqueue", {
                "item": _item(key), "now": request["now"], "lease_seconds": 60})
        held["state"], result = batch_queue.apply_queue(held["state"], operation, request)
        return result

    ctx = FakeDurableContext(activities={batching.RUN_BATCH: lambda r: {"results": {}},
                                         batching.DELIVER_BATCH: lambda p: {}},
                             entities={(batching.QUEUE_ENTITY, "org:invoice"): entity},
                             input={"org": "org", "kind": "invoice", "epoch": 1, "gather_seconds": 1,
                                    "gather_max_seconds": 10}, instance_id="flush-org-invoice-e1")
    assert ctx.run(batch_flusher(ctx)) == {"batches": 1, "ended": "idle"}
    [batch] = [p for name, p in ctx.calls if name == batching.RUN_BATCH]
    assert len(batch["items"]) == 5 and ctx.timers == [1.0] * 4  # one sleep per arrival, then quiet


def test_a_customer_element_refused_because_another_batch_made_the_company_s_contact_uses_it_with_no_new_create(
) -> None:
    acct, crm = FakeAccounting(), FakeCrm()
    acct.create_customer(Customer(external_id="77", name="Northwind"), "an earlier batch's key")
    creates: list[str] = []
    original = acct.create_customer

    def counted(customer: Customer, key: str) -> Any:
        creates.append(key)
        return original(customer, key)

    acct.create_customer = counted  # type: ignore[method-assign]
    item = batching.QueueItem(key="deal-5:customer:r0", instance="deal-5", event="e", attempt=1,
                              payload=EnsureCustomerInput(tx_id="deal-5", round=0, company_id="77",
                                                          company=Company(id="77", name="Northwind"))
                              .model_dump(mode="json"))
    reply = run_batch(BatchRequest(batch_id="B", kind="customer", key="k", items=[item]), _ports(acct, crm),
                      OneByOne(acct))
    result = reply.results["deal-5:customer:r0"]["result"]
    assert (result["customer"]["id"], result["created"]) == ("C1", False)
    assert len(creates) == 1  # the batch's element only: the single path looked first, and found it
