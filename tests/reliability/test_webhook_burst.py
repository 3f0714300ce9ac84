"""Issue #8, burst and rate limits: 1,000 HubSpot webhook events for 300 won deals, Xero enforcing its limits.

HubSpot delivers at least once, in batches of up to 100 events, in no particular order: the same event
again (same ``eventId``), several events for one deal (a creation and a stage change, a stage set twice),
and stale stage changes that arrive after the deal was won. Nine batches come at once, two at a time; the
tenth (duplicates only) comes after every transaction ended, as a late redelivery. The 300 deals belong
to 100 companies, so deals of one company race to create its Xero contact.

With the batched steps on (the default), the deals share their Xero calls; the same burst deal by deal
(``BATCHED_STEPS=false``) is test_webhook_burst_unbatched.py.

Meanwhile Xero enforces its per-tenant limits (60 calls a minute, 5 at a time; the simulator's minute is
shortened by ``TIME_SCALE`` and so is the app's limiter clock). The app's own limiter is sized for two
instances sharing the tenant (120 a minute, 10 at a time), as when Flex Consumption scales out: each
instance only knows its own calls, so Xero answers 429, and the app must wait as told and carry on with
the retry policy as shipped (6 attempts a step), never giving up or rolling back a deal because of it.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import FAST_HUBSPOT_SIM, Stack, module_host
from tests.e2e.saga_helpers import wait_for
from tests.reliability.figures import report
from tests.reliability.helpers import (
    outcome_figures,
    post_hubspot_events,
    seed_won_deals,
    step_attempts,
    wait_instances_completed,
    wait_terminal_rows,
)
from tests.support.burst import COMPANIES, DEALS, burst_events
from tests.support.settings import sample_settings
from tests.support.xero_calls import breakdown_text

# The simulated minute lasts 60/40 = 1.5 s: Xero's budget, 40 calls a second, is below what the app sends
# unthrottled (300 deals take about 1,100 Xero calls, some 50 a second on a 2-core machine), and the
# app's limiter lets through twice that budget: Xero's limits, not the host, set the pace.
TIME_SCALE = 40.0
XERO_LIMITS = {"calls_per_minute": 60, "max_concurrent": 5, "calls_per_day": 5000, "time_scale": TIME_SCALE}
APP_SETTINGS = {"HUBSPOT_REQUESTS_PER_10S": "100000", "XERO_CALLS_PER_MINUTE": "120", "XERO_MAX_CONCURRENT": "10",
                "RATE_LIMIT_TIME_SCALE": str(TIME_SCALE)}
# Xero reports every invoice the app makes (CREATE) to the app's webhook, as in production: what reading
# those events costs is part of the burst's Xero calls.
XERO_SETTINGS = sample_settings()
XERO_WEBHOOK = "/api/webhooks/xero"


stack_host = module_host(APP_SETTINGS)


def wait_idle(stack: Stack, timeout: float = 60) -> None:
    """Until devhost runs nothing and has nothing queued (twice in a row, a moment apart)."""
    def idle_twice() -> bool:
        if not stack.client.health()["idle"]:
            return False
        time.sleep(0.3)
        return bool(stack.client.health()["idle"])

    wait_for("devhost to be idle", idle_twice, timeout=timeout, interval=0.2)


def deal_instances(stack: Stack) -> list[str]:
    _, _, body = stack.client.request("GET", "/runtime/webhooks/durabletask/instances?top=2000&showInput=false")
    # Deal syncs only: a late "older stage" event is the deal's life event (deal-<id>-change<n>), which reads
    # the deal, finds it still won and invoiced as it is, and ends without a transaction.
    return sorted(i["instanceId"] for i in body
                  if str(i["instanceId"]).startswith("deal-") and "-change" not in str(i["instanceId"]))


@pytest.mark.e2e
def test_webhook_burst_with_duplicates_under_xero_rate_limits_invoices_each_deal_exactly_once(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    started = time.monotonic()
    stack.sims.hubspot.config(**FAST_HUBSPOT_SIM)
    deal_ids = seed_won_deals(stack, DEALS, "Burst Co", companies=COMPANIES)
    batches, kinds = burst_events(deal_ids, random.Random(8))
    stack.sims.xero.config(**XERO_LIMITS, tenant_ids=[XERO_SETTINGS["XERO_TENANT_ID"]])
    stack.sims.xero.set_webhook(stack.client.base_url + XERO_WEBHOOK, XERO_SETTINGS["XERO_WEBHOOK_KEY"])
    seeded = time.monotonic()

    with httpx.Client(base_url=stack.client.base_url, timeout=60) as http:
        def deliver(batch: list[dict[str, Any]]) -> tuple[int, float]:
            t0 = time.monotonic()
            response = post_hubspot_events(http, stack, batch)
            return response.status_code, time.monotonic() - t0

        with ThreadPoolExecutor(2) as pool:  # HubSpot sends a portal's batches concurrently too
            answers = list(pool.map(deliver, batches[:-1]))
        assert [status for status, _ in answers] == [200] * len(answers), answers
        rows = wait_terminal_rows(stack, set(deal_ids), timeout=150)
        finished = time.monotonic()
        # HubSpot delivers the last batch late: every deal in it is already invoiced.
        invoices_before = stack.sims.xero.state()["invoices"]
        answers.append(deliver(batches[-1]))
        wait_idle(stack)

    assert [status for status, _ in answers] == [200] * len(batches), answers
    tx_ids = [f"deal-{d}" for d in deal_ids]
    assert deal_instances(stack) == sorted(tx_ids)  # one transaction per deal, no second generation
    final = wait_instances_completed(stack, tx_ids)
    outcomes = Counter(str((s.get("output") or {}).get("status")) for s in final.values())
    ledger = Counter(r["status"] for r in rows)
    state = stack.sims.xero.state()
    figures = outcome_figures(stack, set(deal_ids))
    limited = state["rate_limited"]
    attempts = step_attempts(stack, rows)
    xero_requests = [r for r in stack.sims.xero.requests() if r["path"].startswith("/api.xro/")]
    xero_calls = len(xero_requests)
    # Reads of invoices named by Xero's events: by id one at a time, or by lists of ids.
    event_reads = sum(1 for r in xero_requests if r["method"] == "GET" and r["path"].startswith("/api.xro/2.0/Invoices")
                      and (r["path"] != "/api.xro/2.0/Invoices" or "IDs" in r["query"]))
    xero_events = Counter(e["eventType"] for d in state["webhook_deliveries"] for e in d["payload"]["events"])
    report(
        f"reliability burst: events_sent={sum(len(b) for b in batches)} batches={len(batches)} "
        f"({', '.join(f'{k}={v}' for k, v in sorted(kinds.items()))}) deals={DEALS} "
        f"transactions={len(final)} completed={outcomes['completed']} invoices={figures['invoices']} "
        f"duplicates={figures['duplicates']} lost={figures['lost']} contacts={len(state['contacts'])} "
        f"xero_calls={xero_calls} xero_calls_per_deal={xero_calls / DEALS:.2f} ({breakdown_text(xero_requests)}) "
        f"xero_events={dict(sorted(xero_events.items()))} xero_event_reads={event_reads} "
        f"xero_429={sum(limited.values())} {limited} time_scale={TIME_SCALE:g} "
        f"transactions_retried={sum(1 for a in attempts if a > 1)} most_attempts_of_a_step={max(attempts)} "
        f"webhook_max_s={max(t for _, t in answers):.2f} seed_s={seeded - started:.1f} "
        f"burst_to_done_s={finished - seeded:.1f} total_s={time.monotonic() - started:.1f}")

    assert outcomes == Counter({"completed": DEALS}), outcomes  # none compensated or stuck because of a 429
    assert ledger == Counter({"completed": DEALS}), ledger
    assert figures == {"invoices": DEALS, "duplicates": 0, "lost": 0}, figures
    assert {i["Status"] for i in state["invoices"]} == {"AUTHORISED"}  # nothing voided: no rollback happened
    assert state["invoices"] == invoices_before  # the late batch changed nothing in Xero
    assert len(state["contacts"]) == len({c["ContactNumber"] for c in state["contacts"]}) == COMPANIES
    if stack.settings.get("BATCHED_STEPS", "true") == "false":
        # Deal by deal (about 1,100 calls), the burst needs more than Xero's budget: the limits set the pace.
        assert sum(limited.values()) > 0, "Xero never answered 429: the burst did not test the rate limits"
    else:
        # Batched, the burst's deals share their calls: 29 to 36 measured with the gather (the goal is 40;
        # 87 to 127 without it, about 1,100 deal by deal). How full the batches get depends on how fast the
        # host moves the deals (a loaded machine splits more of them), hence a bound looser than the goal
        # that still fails for batches that stopped gathering. 429s met mid-batch: test_batched_steps_e2e.py.
        assert xero_calls <= 80, xero_calls
