"""Issue 5, batch: won deals through ``batch_sync`` with random transient faults on both APIs.

The batch at scale (every deal invoiced once under crashes, outages and rate limits) is the reliability
suite's: ``tests/reliability/test_host_death.py`` (100 deals, the host killed mid-batch),
``test_webhook_burst.py`` (300 deals) and ``test_xero_outage.py`` (40 deals, Xero down mid-batch). What only
this file proves is random transient faults on both APIs over several search pages, and the cursor: 40 deals
in pages of 10 do that.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, POLICY, Stack, module_host
from tests.e2e.saga_helpers import XERO_API, wait_for
from tests.support.crm_data import create_won_deal

DEALS = 40
PAGE_SIZE = 10  # four pages and the empty end: the paging and the cursor across pages
FAULT_RATE = 0.05


stack_host = module_host(FAST_APP_LIMITS)


@pytest.mark.e2e
def test_a_batch_of_won_deals_with_random_transient_faults_ends_every_transaction_once_and_moves_the_cursor(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    with ThreadPoolExecutor(8) as pool:
        deals = list(pool.map(lambda i: create_won_deal(stack.sims.hubspot_url, company=f"Batch Co {i}",
                                                        lines=[("Licence", "1", f"{100 + i}.00")]), range(DEALS)))
    ids = {d.deal_id for d in deals}
    # Random transient failures on 5% of the app's requests to either API (seeded: reproducible).
    stack.sims.hubspot.add_fault("/crm/*", 503, times=-1, probability=FAULT_RATE, seed=5)
    stack.sims.xero.add_fault(f"{XERO_API}/*", 503, times=-1, probability=FAULT_RATE / 2, seed=6)
    stack.sims.xero.add_fault(f"{XERO_API}/*", None, drop=True, times=-1, probability=FAULT_RATE / 2, seed=7)
    started = time.monotonic()

    stack.client.start("batch_sync", {"since": None, "stage": "closedwon", "page_size": PAGE_SIZE,
                                      "concurrency": 20, "trigger": "test", "policy": POLICY}, "batch-sync")
    status = stack.client.wait("batch-sync", timeout=90)

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["started"] == DEALS, status["output"]
    assert sum(1 for r in stack.sims.hubspot.requests() + stack.sims.xero.requests() if r["fault"]) >= 10
    # Every transaction is in a terminal state; with transient faults only, every one completed.
    def ledger_done() -> list[dict[str, str]] | None:
        rows = _all_rows(stack)
        return rows if len(rows) == DEALS and all(r["status"] == "completed" for r in rows) else None

    rows = wait_for("every ledger row completed", ledger_done, timeout=30, interval=0.5)
    assert {r["deal_id"] for r in rows} == ids
    state = stack.sims.xero.state()
    live = [i for i in state["invoices"] if i["Status"] == "AUTHORISED"]
    assert len(live) == len(state["invoices"]) == DEALS
    assert Counter(i["Reference"] for i in live) == Counter(f"Deal {d}" for d in ids)  # one per deal
    assert len(state["contacts"]) == DEALS
    assert len({c["ContactNumber"] for c in state["contacts"]}) == DEALS
    hubspot = stack.sims.hubspot.state()["objects"]["deals"]
    assert {hubspot[d]["properties"]["invoice_sync_status"] for d in ids} == {"synced"}
    found, cursor = stack.client.read_entity("sync_cursor", "hubspot-deals")
    assert found, cursor
    def when(deal_id: str, prop: str) -> datetime:
        return datetime.fromisoformat(str(hubspot[deal_id]["properties"][prop]).replace("Z", "+00:00"))

    since = datetime.fromisoformat(str(cursor["since"]).replace("Z", "+00:00"))
    # The cursor moved past every deal as the batch found it, and not past the batch's own last write.
    assert since >= max(when(d, "createdate") for d in ids)
    assert since <= max(when(d, "hs_lastmodifieddate") for d in ids)
    assert time.monotonic() - started < 60


def _all_rows(stack: Stack) -> list[dict[str, str]]:
    now = datetime.now(UTC)
    rows: list[dict[str, str]] = []
    token = None
    while True:
        page = stack.ledger.query(now - timedelta(days=400), now + timedelta(days=400), limit=500,
                                  continuation=token)
        rows += page.items
        token = page.continuation
        if token is None:
            return rows


@pytest.mark.e2e
def test_a_deal_that_needs_a_person_does_not_hold_the_batch_and_the_next_schedule_runs(fast_stack: Stack) -> None:
    stack = fast_stack
    stuck = create_won_deal(stack.sims.hubspot_url, company="Batch Stuck")
    others = [create_won_deal(stack.sims.hubspot_url, company=f"Batch Free {i}") for i in range(6)]
    # The stuck deal's write-back is refused and its invoice cannot be voided: it waits for a person.
    stack.sims.hubspot.add_fault(f"/crm/objects/2026-09/deals/{stuck.deal_id}", 400, method="PATCH", times=1, skip=1)
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices/*", 400, method="POST", times=-1)

    stack.client.start("batch_sync", {"since": None, "stage": "closedwon", "page_size": 100, "concurrency": 2,
                                      "trigger": "test", "policy": POLICY}, "batch-sync")
    status = stack.client.wait("batch-sync", timeout=90)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["started"] == 7 and status["output"]["released"] == 1, status["output"]
    waiting = stack.client.status(f"deal-{stuck.deal_id}")
    assert waiting is not None and waiting["customStatus"]["status"] == "needs_attention", waiting
    for deal in others:
        assert stack.client.wait(f"deal-{deal.deal_id}", timeout=30)["output"]["status"] == "completed"

    # The batch is not running any more: the next one (the schedule, or a person) can start.
    again = create_won_deal(stack.sims.hubspot_url, company="Batch Next")
    stack.client.start("batch_sync", {"stage": "closedwon", "page_size": 100, "concurrency": 2,
                                      "trigger": "test", "policy": POLICY}, "batch-sync")
    assert stack.client.wait("batch-sync", timeout=90)["output"]["started"] == 1
    assert stack.client.wait(f"deal-{again.deal_id}", timeout=30)["output"]["status"] == "completed"


@pytest.mark.e2e
def test_a_deal_sync_stopped_mid_group_does_not_crash_the_batch_when_its_neighbour_ends_later(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    a, b, c = (create_won_deal(stack.sims.hubspot_url, company=f"Group {n}") for n in "ABC")
    # Each deal's claim is answered 503 with its own wait: A for 10 minutes, B for 3 s, C for 6 s.
    for deal, wait in ((a, "600"), (b, "3"), (c, "6")):
        stack.sims.hubspot.add_fault(f"/crm/objects/2026-09/deals/{deal.deal_id}", 503, method="PATCH", times=1,
                                     headers={"Retry-After": wait})
    stack.client.clock(auto_advance=False)  # waits take real time
    try:
        stack.client.start("batch_sync", {"since": None, "stage": "closedwon", "page_size": 100, "concurrency": 2,
                                          "trigger": "test", "policy": POLICY}, "batch-sync")
        tx_a = f"deal-{a.deal_id}"

        def a_waits() -> bool:
            _, state = stack.client.read_entity("sync_transaction", tx_a)
            return any(s["name"] == "claim" and s.get("retry_at") for s in (state or {}).get("steps", []))

        wait_for("deal A to wait", a_waits)
        assert stack.client.terminate(tx_a, "an operator stopped it") in (200, 202)  # A fails first...
        status = stack.client.wait("batch-sync", timeout=60)  # ...and B ends after it, in the same group
    finally:
        stack.client.clock(auto_advance=True)
    assert status["runtimeStatus"] == "Completed", status
    assert (status["output"]["started"], status["output"]["failed_starts"]) == (3, 1), status["output"]
    for deal in (b, c):
        assert stack.client.wait(f"deal-{deal.deal_id}", timeout=30)["output"]["status"] == "completed"
