"""Xero's free Starter tier: 1,000 calls per organisation a day. Unbatched (``BATCHED_STEPS=false``, 3 calls a
deal), a 400-deal backfill needs more than a day; batched it fits in a fraction of one
(test_xero_starter_tier_batched.py).

Real clock, the day time-scaled (a simulated day lasts DAY_SECONDS real seconds). The backfill's answer
says up front what today's budget covers; the deals beyond it wait for the reset (visible: "Xero calls
left today: 0") and then go on by themselves; none fails because of a 429, none is invoiced twice.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, FAST_HUBSPOT_SIM, FAST_XERO_SIM, Stack, module_host
from tests.reliability.figures import report
from tests.reliability.helpers import all_ledger_rows, outcome_figures, seed_won_deals, wait_instances_completed

DEALS = 400
# Long enough that the day's 1,000 calls run out well before the reset (at about 25 calls a second here, a
# 40 s day ran out just before its reset and the page could show 0 for less than one look).
DAY_SECONDS = 60.0


# A token table of its own for each run.
stack_host = module_host({**FAST_APP_LIMITS, "SYNC_BATCH_CONCURRENCY": "20", "XERO_CALLS_PER_DAY": "1000",
                          "BATCHED_STEPS": "false",
                          "XERO_TOKEN_TABLE_NAME": "XeroStarter" + str(int(time.time()))}, clock=None)


@pytest.mark.e2e
def test_400_deals_on_the_starter_tier_all_end_invoiced_once_after_a_visible_wait_for_the_daily_reset(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    stack.sims.hubspot.config(**FAST_HUBSPOT_SIM)
    stack.sims.xero.config(**FAST_XERO_SIM, tier="starter", time_scale=86400 / DAY_SECONDS)
    deal_ids = seed_won_deals(stack, DEALS, "Starter Co")
    seen_empty = threading.Event()
    stop = threading.Event()
    lowest: list[int] = []

    slow_answers: list[float] = []

    def watch() -> None:  # what the status page shows while the backfill runs
        with httpx.Client(base_url=stack.client.base_url, timeout=10) as http:
            while not stop.is_set():
                asked = time.monotonic()
                try:
                    left = http.get("/api/xero/status").json().get("calls_left_today")
                except httpx.TimeoutException:
                    # Under this load the worker's threads are all busy with activities, and the status
                    # answer can wait longer than the timeout: ask again rather than stop watching.
                    slow_answers.append(time.monotonic() - asked)
                    continue
                if isinstance(left, int):
                    lowest.append(left)
                    if left == 0:
                        seen_empty.set()
                time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    with httpx.Client(base_url=stack.client.base_url, timeout=30) as http:
        answer = http.post("/api/sync", json={"since": "2026-01-01"})
    assert answer.status_code == 202, answer.text
    budget = answer.json()["xero_budget"]
    assert budget["calls_per_day"] == 1000 and budget["deals_it_covers"] < DEALS
    assert "wait for Xero's daily limit to reset" in budget["message"]

    batch = stack.client.wait(answer.json()["id"], timeout=240)
    final = wait_instances_completed(stack, [f"deal-{d}" for d in deal_ids], timeout=240)
    done = time.monotonic()
    stop.set()
    watcher.join(timeout=5)
    outcomes = Counter(str((s.get("output") or {}).get("status")) for s in final.values())
    figures = outcome_figures(stack, set(deal_ids))
    state = stack.sims.xero.state()
    rows = all_ledger_rows(stack)
    calls = sum(1 for r in stack.sims.xero.requests() if r["path"].startswith("/api.xro") and r["status"] != 429)
    report(f"reliability starter tier: deals={DEALS} day_s={DAY_SECONDS} calls_per_day={state['calls_per_day']} "
           f"completed={outcomes['completed']} invoices={figures['invoices']} duplicates={figures['duplicates']} "
           f"xero_calls={calls} daily_429s={state['rate_limited'].get('daily', 0)} "
           f"lowest_calls_left_shown={min(lowest or [-1])} status_answers_over_10s={len(slow_answers)} "
           f"total_s={done - started:.1f}")

    assert batch["runtimeStatus"] == "Completed", batch
    assert outcomes == Counter({"completed": DEALS}), outcomes  # 0 transactions failed by 429s
    assert figures == {"invoices": DEALS, "duplicates": 0, "lost": 0}, figures
    assert Counter(r["status"] for r in rows) == Counter({"completed": DEALS})
    assert state["rate_limited"].get("daily", 0) > 0  # the day's budget really ran out
    assert seen_empty.is_set(), f"the page never showed the budget used up (lowest {min(lowest or [-1])})"
