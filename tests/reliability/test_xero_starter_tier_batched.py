"""Xero's free Starter tier, batched: a 400-deal backfill takes a small share of one day's 1,000 calls.

The same backfill as test_xero_starter_tier.py (real clock, the day time-scaled), with the batched steps on
(the default): the deals share their Xero calls, so none waits for the daily reset, and the answer to the
backfill says the day's budget covers them.
"""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, FAST_HUBSPOT_SIM, FAST_XERO_SIM, Stack, module_host
from tests.reliability.figures import report
from tests.reliability.helpers import all_ledger_rows, outcome_figures, seed_won_deals, wait_instances_completed

DEALS = 400
DAY_SECONDS = 60.0
GOAL_CALLS_PER_DEAL = 0.1  # bench/backfill_throughput.py's goal: 10,000 deals in one Starter day

stack_host = module_host({**FAST_APP_LIMITS, "SYNC_BATCH_CONCURRENCY": "50", "XERO_CALLS_PER_DAY": "1000",
                          "BATCHED_STEPS": "true",
                          "XERO_TOKEN_TABLE_NAME": "XeroStarterBatched" + str(int(time.time()))}, clock=None)


@pytest.mark.e2e
def test_a_batched_400_deal_backfill_on_the_starter_tier_uses_a_small_share_of_one_day_and_waits_for_no_reset(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    stack.sims.hubspot.config(**FAST_HUBSPOT_SIM)
    stack.sims.xero.config(**FAST_XERO_SIM, tier="starter", time_scale=86400 / DAY_SECONDS)
    deal_ids = seed_won_deals(stack, DEALS, "Starter Batch Co")
    started = time.monotonic()
    with httpx.Client(base_url=stack.client.base_url, timeout=30) as http:
        answer = http.post("/api/sync", json={"since": "2026-01-01"})
    assert answer.status_code == 202, answer.text
    budget = answer.json()["xero_budget"]
    assert budget["calls_per_day"] == 1000 and budget["deals_it_covers"] >= DEALS

    batch = stack.client.wait(answer.json()["id"], timeout=240)
    final = wait_instances_completed(stack, [f"deal-{d}" for d in deal_ids], timeout=240)
    done = time.monotonic()
    outcomes = Counter(str((s.get("output") or {}).get("status")) for s in final.values())
    figures = outcome_figures(stack, set(deal_ids))
    state = stack.sims.xero.state()
    calls = sum(1 for r in stack.sims.xero.requests() if r["path"].startswith("/api.xro") and r["status"] != 429)
    report(f"reliability starter tier batched: deals={DEALS} day_s={DAY_SECONDS} "
           f"calls_per_day={state['calls_per_day']} "
           f"completed={outcomes['completed']} invoices={figures['invoices']} duplicates={figures['duplicates']} "
           f"xero_calls={calls} calls_per_deal={calls / DEALS:.3f} share_of_day={calls / 1000:.1%} "
           f"daily_429s={state['rate_limited'].get('daily', 0)} total_s={done - started:.1f}")

    assert batch["runtimeStatus"] == "Completed", batch
    assert outcomes == Counter({"completed": DEALS}), outcomes
    assert figures == {"invoices": DEALS, "duplicates": 0, "lost": 0}, figures
    assert Counter(r["status"] for r in all_ledger_rows(stack)) == Counter({"completed": DEALS})
    assert state["rate_limited"].get("daily", 0) == 0  # no deal waited for the reset
    # Deals that found nothing queued went alone (2-3 calls each); the rest shared theirs. A tenth of a call
    # a deal is the bench's goal; here, with fewer deals in flight, a little more is allowed.
    assert calls <= DEALS * 2 * GOAL_CALLS_PER_DEAL, calls
