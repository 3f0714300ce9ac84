"""Batched saga steps (BATCHED_STEPS): many deals per batch, each still one transaction of its own.

Deals are started directly with a policy that batches; the flusher's start is held back (a devhost delay
on its wake) so that the queued deals fill one batch, as a burst does by itself in production.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, POLICY, Stack, module_host
from tests.e2e.saga_helpers import XERO_API, wait_for
from tests.support.crm_data import WonDeal, create_won_deal

stack_host = module_host(FAST_APP_LIMITS)
BATCHED = {**POLICY, "batched_steps": True, "batch_wait_seconds": 8}
INVOICE_BATCH = '"kind":"invoice"'  # a fault on run_batch for the invoices' batches only

def _org(deals: list[WonDeal]) -> str:
    """Each test's own organisation, so its queues start empty (devhost and its entities live for the module)."""
    return f"e2e{deals[0].deal_id}"


def _deals(stack: Stack, n: int, bad: int | None = None) -> list[WonDeal]:
    def one(i: int) -> WonDeal:
        return create_won_deal(stack.sims.hubspot_url, company=f"Batched Co {i}", currency="XAF" if i == bad else "EUR",
                               lines=[("Licence", "1", f"{100 + i}.00")])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def _start(stack: Stack, deals: list[WonDeal], **policy: Any) -> None:
    for d in deals:
        stack.client.start("deal_sync", {"deal_id": d.deal_id, "trigger": "test",
                                         "policy": {**BATCHED, "batch_org": _org(deals), **policy}},
                           f"deal-{d.deal_id}")


def _start_all(stack: Stack, deals: list[WonDeal], **policy: Any) -> dict[str, dict[str, Any]]:
    _start(stack, deals, **policy)
    return {d.deal_id: stack.client.wait(f"deal-{d.deal_id}", timeout=120) for d in deals}


def _hold_wakes(stack: Stack, ms: int = 2500) -> None:
    stack.client.add_fault("wake_batch_flusher", "delay", times=-1, delay_ms=ms)


def _batches(stack: Stack, deal_ids: list[str], step: str) -> dict[str, tuple[int, int]]:
    """Each batch's (deals it made the step for, elements it sent), from the deals' own pages."""
    sizes: Counter[str] = Counter()
    sent: dict[str, int] = {}
    for deal_id in deal_ids:
        _code, _headers, shown = stack.client.request("GET", f"/api/transactions/deal-{deal_id}")
        for s in shown["steps"]:
            if s["name"] == step and s.get("batch"):
                sizes[s["batch"]["batch_id"]] += 1
                sent[s["batch"]["batch_id"]] = s["batch"]["size"]
    return {b: (n, sent[b]) for b, n in sizes.items()}


def _one_invoice_each(stack: Stack, deals: list[WonDeal]) -> None:
    state = stack.sims.xero.state()
    refs = Counter(i["Reference"] for i in state["invoices"] if i["Status"] == "AUTHORISED")
    assert refs == Counter(f"Deal {d.deal_id}" for d in deals)
    active = Counter(c["ContactNumber"] for c in state["contacts"] if c.get("ContactStatus", "ACTIVE") == "ACTIVE")
    assert active == Counter(d.company_id for d in deals)


@pytest.mark.e2e
def test_one_rejected_element_of_a_batch_of_fifty_compensates_that_deal_alone_and_invoices_the_rest(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deals = _deals(stack, 51, bad=50)  # the first deal goes alone (nothing queued yet); 50 fill one batch
    # The customers' flusher starts after 3 s, the invoices' after 10 s: by then all 50 wait for invoices.
    stack.client.add_fault("wake_batch_flusher", "delay", times=1, delay_ms=3000)
    stack.client.add_fault("wake_batch_flusher", "delay", times=1, delay_ms=10000)
    outcomes = _start_all(stack, deals, batch_wait_seconds=40)
    bad = deals[50]
    assert {o["runtimeStatus"] for o in outcomes.values()} == {"Completed"}
    statuses = {d: o["output"]["status"] for d, o in outcomes.items()}
    assert statuses.pop(bad.deal_id) == "compensated"
    assert set(statuses.values()) == {"completed"}
    assert "XAF" in json.dumps(outcomes[bad.deal_id]["output"]["reason"])  # Xero's own words
    _one_invoice_each(stack, deals[:50])
    made, sent = max(_batches(stack, [d.deal_id for d in deals], "invoice").values())
    # One batch carried nearly all of them (a deal or two that found nothing queued went alone, at once),
    # the refused one among them: every element but that one was made.
    assert sent >= 45 and made == sent - 1, (made, sent)


@pytest.mark.e2e
def test_a_batch_activity_that_crashes_after_xero_made_the_invoices_makes_no_duplicate(fast_stack: Stack) -> None:
    stack = fast_stack
    deals = _deals(stack, 11)
    _hold_wakes(stack)
    # The first invoices' batch, whatever number of load, claim and customer batches ran before it.
    stack.client.add_fault("run_batch", "crash_after", times=1, input_contains=INVOICE_BATCH)
    outcomes = _start_all(stack, deals)
    assert {o["output"]["status"] for o in outcomes.values()} == {"completed"}
    assert [f["fired"] for f in stack.client.faults() if f["activity"] == "run_batch"] == [1]
    _one_invoice_each(stack, deals)


@pytest.mark.e2e
def test_a_flusher_terminated_mid_batch_still_leaves_every_deal_invoiced_once(fast_stack: Stack) -> None:
    stack = fast_stack
    deals = _deals(stack, 11)
    _hold_wakes(stack, 1000)
    stack.client.add_fault("run_batch", "delay", times=1, delay_ms=3000, input_contains=INVOICE_BATCH)
    _start(stack, deals)

    def running_invoice_flusher() -> str | None:
        found, queue = stack.client.read_entity("batch_queue", f"{_org(deals)}:invoice")
        if not found or not queue.get("taken"):
            return None
        return f"flush-{_org(deals)}-invoice-e{queue['epoch']}"

    flusher = wait_for("an invoice batch taken", running_invoice_flusher, timeout=60)
    stack.client.terminate(flusher, "test: the flusher dies mid-batch")
    outcomes = {d.deal_id: stack.client.wait(f"deal-{d.deal_id}", timeout=120) for d in deals}
    assert {o["output"]["status"] for o in outcomes.values()} == {"completed"}, outcomes
    _one_invoice_each(stack, deals)


@pytest.mark.e2e
def test_a_429_in_the_middle_of_a_batch_paces_every_item_and_fails_none(fast_stack: Stack) -> None:
    stack = fast_stack
    deals = _deals(stack, 11)
    _hold_wakes(stack)
    # The first PUT of more than one invoice is a batch's (a deal that finds nothing queued goes alone, and
    # how many do depends on timing): that one is answered 429.
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", 429, method="PUT", times=1, min_elements=2,
                              headers={"Retry-After": "1"})
    outcomes = _start_all(stack, deals)
    assert {o["output"]["status"] for o in outcomes.values()} == {"completed"}, outcomes
    faulted = [r for r in stack.sims.xero.requests() if r["fault"]]
    assert len(faulted) == 1 and len(faulted[0]["body"]["Invoices"]) > 1
    invoice_steps = [next(s for s in stack.client.request("GET", f"/api/transactions/deal-{d.deal_id}")[2]["steps"]
                          if s["name"] == "invoice") for d in deals]
    assert sum(1 for s in invoice_steps if s["attempts"] > 1) == len(faulted[0]["body"]["Invoices"])
    _one_invoice_each(stack, deals)


@pytest.mark.e2e
def test_a_batch_that_runs_after_its_deals_gave_up_on_it_makes_no_duplicate(fast_stack: Stack) -> None:
    # The invoices' batch activity starts 15 s late (a slow worker, a host whose work item runs again later),
    # long after its deals' 6 s wait ran out: they take their items back and make their step without it,
    # and then the old batch makes its call after all.
    stack = fast_stack
    deals = _deals(stack, 11)
    _hold_wakes(stack, 1000)
    # The first invoices' batch (load, claim and customer batches come before it, whatever their number).
    stack.client.add_fault("run_batch", "delay", times=1, delay_ms=15000, input_contains=INVOICE_BATCH)
    outcomes = _start_all(stack, deals, batch_wait_seconds=6)
    assert {o["output"]["status"] for o in outcomes.values()} == {"completed"}, outcomes

    def late_batch_done() -> bool:
        found, queue = stack.client.read_entity("batch_queue", f"{_org(deals)}:invoice")
        return found and not queue.get("taken") and not queue.get("active")

    assert [f["fired"] for f in stack.client.faults() if f["activity"] == "run_batch"] == [1]
    wait_for("the late batch delivered", late_batch_done, timeout=60)
    _one_invoice_each(stack, deals)


def _window() -> str:
    # The devhost's virtual clock jumps to due timers, so a batch's start may lie ahead of this wall clock.
    now = datetime.now(UTC)
    return urlencode({"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=20)).isoformat()})


@pytest.mark.e2e
def test_a_deal_waiting_says_queued_for_batch_and_its_batch_has_one_row_shown_by_id_and_in_the_window(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deals = _deals(stack, 6)
    _hold_wakes(stack, 4000)
    _start(stack, deals)

    def queued() -> dict[str, Any] | None:
        for d in deals:
            shown = stack.client.request("GET", f"/api/transactions/deal-{d.deal_id}")[2]
            if isinstance(shown, dict) and shown.get("queued"):
                return dict(shown["queued"])
        return None

    waiting = wait_for("a deal queued for its batch", queued, timeout=60)
    assert waiting["step"] in ("load", "claim", "customer", "invoice", "write_back") and waiting["since"]
    outcomes = {d.deal_id: stack.client.wait(f"deal-{d.deal_id}", timeout=120) for d in deals}
    assert {o["output"]["status"] for o in outcomes.values()} == {"completed"}, outcomes
    shown = {d.deal_id: stack.client.request("GET", f"/api/transactions/deal-{d.deal_id}")[2] for d in deals}
    assert all(s["queued"] is None for s in shown.values())
    steps = [s for t in shown.values() for s in t["steps"] if s["name"] == "invoice" and s.get("batch")]
    assert steps, "no invoice was made in a batch"
    batch = steps[0]["batch"]
    code, _headers, row = stack.client.request("GET", batch["href"])
    assert code == 200, row
    members = [t["id"] for t in shown.values() if any(s.get("batch", {}) and s["batch"]["batch_id"] == row["id"]
                                                        for s in t["steps"])]
    assert (row["kind"], row["size"], row["ok"], row["rejected"], row["errors"]) == (
        "invoice", batch["size"], batch["size"], 0, 0)
    assert sorted(row["transactions"]) == sorted(members) and row["calls"] >= 1 and row["seconds"] >= 0
    assert row["org"] == _org(deals) and row["key"].startswith("batch-invoice-")
    code, _headers, page = stack.client.request("GET", f"/api/batches?{_window()}")
    assert code == 200 and row["id"] in [b["id"] for b in page["items"]]
    assert [b for b in page["items"] if b["id"] == row["id"]] == [row]  # one row per batch
