"""HubSpot's own webhook delivery end to end: the simulator POSTs as HubSpot does (batched, at least once,
out of order, retried) to the unmodified app on devhost, and every won deal is invoiced once."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import wait_for
from tests.support.crm_data import WonDeal, create_won_deal
from tests.support.settings import sample_settings

SECRET = sample_settings()["HUBSPOT_APP_SECRET"]
WEBHOOK_PATH = "/api/webhooks/hubspot"
STAGE_CHANGES = [{"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"}]
# A simulated 2 minutes (HubSpot's first retry) last 1 s.
TIME_SCALE = 120


stack_host = module_host(FAST_APP_LIMITS)


def make_deals(stack: Stack, count: int, name: str, stage: str) -> list[WonDeal]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda i: create_won_deal(stack.sims.hubspot_url, company=f"{name} {i}", stage=stage,
                                                       lines=[("Licence", "1", f"{100 + i}.00")]), range(count)))


def move_all(stack: Stack, deals: list[WonDeal], stage: str) -> None:
    """One bulk update, as a person's bulk edit or an import does: every deal's stage at the same instant."""
    answer = httpx.post(f"{stack.sims.hubspot_url}/crm/objects/2026-09/deals/batch/update", timeout=30,
                        headers={"Authorization": "Bearer test-token"},
                        json={"inputs": [{"id": d.deal_id, "properties": {"dealstage": stage}} for d in deals]})
    assert answer.status_code == 200 and answer.json()["numErrors"] == 0, answer.text


def subscribe(stack: Stack, **settings: Any) -> None:
    stack.sims.hubspot.config(time_scale=TIME_SCALE)
    stack.sims.hubspot.subscribe(stack.client.base_url + WEBHOOK_PATH, SECRET, **settings)


def delivered(stack: Stack, timeout: float = 60) -> list[dict[str, Any]]:
    """Every POST attempt, once the simulator has nothing left to send."""
    status = wait_for("the simulator to deliver every webhook",
                      lambda: (s := stack.sims.hubspot.webhook_deliveries())["idle"] and s, timeout=timeout,
                      interval=0.2)
    return list(status["deliveries"])


def ledger_rows(stack: Stack, ids: set[str]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    token = None
    while True:
        page = stack.ledger.query(now - timedelta(days=1), now + timedelta(hours=1), limit=500, continuation=token)
        rows += [r for r in page.items if r["deal_id"] in ids]
        token = page.continuation
        if token is None:
            return rows


def assert_each_invoiced_once(stack: Stack, deals: list[WonDeal], timeout: float = 90) -> None:
    ids = {d.deal_id for d in deals}

    def all_completed() -> list[dict[str, Any]] | None:
        rows = ledger_rows(stack, ids)
        return rows if {r["deal_id"] for r in rows if r["status"] == "completed"} == ids else None

    wait_for("every deal's transaction to complete", all_completed, timeout=timeout, interval=0.5)
    wait_for("devhost to be idle", lambda: stack.client.health()["idle"], timeout=60, interval=0.2)
    rows = ledger_rows(stack, ids)
    assert Counter(r["deal_id"] for r in rows if r["status"] == "completed") == Counter(ids), rows
    invoices = [i for i in stack.sims.xero.state()["invoices"] if i["Reference"] in {f"Deal {d}" for d in ids}]
    assert Counter(i["Reference"] for i in invoices) == Counter(f"Deal {d}" for d in ids)  # one each
    assert {i["Status"] for i in invoices} == {"AUTHORISED"}
    hubspot = stack.sims.hubspot.state()["objects"]["deals"]
    assert {hubspot[d]["properties"]["invoice_sync_status"] for d in ids} == {"synced"}


def report(what: str, deliveries: list[dict[str, Any]], invoices: int, started: float) -> None:
    posts = {r["post"] for r in deliveries}
    events = sum(len(r["events"]) for r in deliveries if r["attempt"] == 0)
    retries = sum(1 for r in deliveries if r["attempt"] > 0)
    print(f"\n{what}: events={events} posts={len(posts)} attempts={len(deliveries)} retries={retries} "
          f"slowest_answer_ms={max(r['elapsed_ms'] for r in deliveries)} invoices={invoices} "
          f"seconds={time.monotonic() - started:.1f}")


@pytest.mark.e2e
def test_a_bulk_win_of_100_deals_arrives_as_one_post_of_100_events_and_each_deal_is_invoiced_once(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deals = make_deals(stack, 100, "Bulk Won", "contractsent")
    subscribe(stack, subscriptions=STAGE_CHANGES)
    started = time.monotonic()

    move_all(stack, deals, "closedwon")

    deliveries = delivered(stack)
    assert [(r["post"], r["attempt"], r["status"], len(r["events"])) for r in deliveries] == [(1, 0, 200, 100)]
    [post] = deliveries
    assert sorted(e["objectId"] for e in post["events"]) == sorted(int(d.deal_id) for d in deals)
    assert {(e["subscriptionType"], e["propertyName"], e["propertyValue"]) for e in post["events"]} == {
        ("deal.propertyChange", "dealstage", "closedwon")}
    assert_each_invoiced_once(stack, deals)
    report("bulk win", deliveries, len(deals), started)


@pytest.mark.e2e
def test_a_delivery_the_app_answers_503_because_its_task_hub_refused_the_start_is_retried_and_invoiced_once(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deals = make_deals(stack, 2, "Retried", "contractsent")
    subscribe(stack, subscriptions=STAGE_CHANGES)
    # The task hub's storage is out of reach for the first start: the app cannot hand the delivery over.
    stack.client.add_fault("webhook_batch", "refuse_start", times=1)
    started = time.monotonic()

    move_all(stack, deals, "closedwon")

    deliveries = delivered(stack)
    assert [(r["post"], r["attempt"], r["status"]) for r in deliveries] == [(1, 0, 503), (1, 1, 200)]
    assert deliveries[0]["retry_in_s"] == pytest.approx(120 / TIME_SCALE)
    assert [e["attemptNumber"] for r in deliveries for e in r["events"]] == [0, 0, 1, 1]
    assert {e["eventId"] for e in deliveries[0]["events"]} == {e["eventId"] for e in deliveries[1]["events"]}
    assert [f["fired"] for f in stack.client.faults()] == [1]
    assert_each_invoiced_once(stack, deals)
    report("503 then retry", deliveries, len(deals), started)


@pytest.mark.e2e
def test_duplicated_and_shuffled_events_of_created_moved_and_won_deals_invoice_each_deal_once(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    # Held until every change is made, so that a deal's events can come in any order; each event has
    # an even chance of a second delivery; POSTs of at most 10 events, shuffled with a fixed seed.
    subscribe(stack, hold=True, duplicates=0.5, shuffle=True, seed=14, max_batch=10)
    deals = make_deals(stack, 10, "Shuffled", "appointmentscheduled")
    move_all(stack, deals, "contractsent")
    move_all(stack, deals, "closedwon")
    started = time.monotonic()

    assert stack.sims.hubspot.flush_webhooks() == 30
    deliveries = delivered(stack)

    assert all(r["status"] == 200 for r in deliveries), deliveries
    order = [(e["objectId"], e["subscriptionType"], e.get("propertyValue"), e["eventId"])
             for r in sorted(deliveries, key=lambda r: r["sent_at"]) for e in r["events"]]
    assert len(order) > 30 and len({o[3] for o in order}) == 30  # every event, some twice
    first_seen: dict[tuple[int, str], int] = {}
    for index, (deal, kind, value, _) in enumerate(order):
        first_seen.setdefault((deal, "won" if value == "closedwon" else kind), index)
    assert any(first_seen[(int(d.deal_id), "won")] < first_seen[(int(d.deal_id), "deal.creation")] for d in deals)
    assert_each_invoiced_once(stack, deals)
    report("duplicates and shuffled", deliveries, len(deals), started)
