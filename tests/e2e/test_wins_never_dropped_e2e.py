"""Issue 13: no win is dropped, and one unreadable deal does not stop the batch (it fails alone).

Real clock (the batch compares when a deal changed in the CRM with when its last transaction ended, both
real times), devhost with Azurite and the simulators. A deal whose first run was rolled back for bad data
is invoiced once it is fixed and won again, by a webhook and by the batch; a win that arrives while the
creation event's run is still finishing starts the next generation once that run ends.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, POLICY, Stack, module_host
from tests.e2e.saga_helpers import deal_props, invoices, wait_for
from tests.reliability.helpers import post_hubspot_events
from tests.support.burst import created_event, won_event
from tests.support.crm_data import WonDeal, create_won_deal

BAD_PRICE = "20000000.00"  # over MAX_INVOICE_TOTAL: refused while drafting, before anything is written


stack_host = module_host({**FAST_APP_LIMITS, "HUBSPOT_DEAL_READ": "rest"}, clock=None)


def _patch(stack: Stack, kind: str, object_id: str, properties: dict[str, str]) -> None:
    with httpx.Client(base_url=stack.sims.hubspot_url, headers={"Authorization": "Bearer t"}, timeout=10) as http:
        http.patch(f"/crm/objects/2026-09/{kind}/{object_id}", json={"properties": properties}).raise_for_status()


def _webhook(stack: Stack, events: list[dict[str, Any]]) -> dict[str, Any]:
    with httpx.Client(base_url=stack.client.base_url, timeout=30) as http:
        answer = post_hubspot_events(http, stack, events)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _batch(stack: Stack, since: datetime) -> dict[str, Any]:
    stack.client.start("batch_sync", {"since": since.isoformat(), "stage": "closedwon", "page_size": 100,
                                      "concurrency": 5, "trigger": "test", "policy": POLICY}, "batch-sync")
    status = stack.client.wait("batch-sync", timeout=90)
    assert status["runtimeStatus"] == "Completed", status
    output: dict[str, Any] = status["output"]
    return output


def _ended(stack: Stack, tx: str, timeout: float = 60) -> dict[str, Any]:
    status = stack.client.wait(tx, timeout=timeout)
    assert status["runtimeStatus"] == "Completed", status
    output: dict[str, Any] = status["output"]
    return output


def _bad_deal(stack: Stack, company: str) -> WonDeal:
    return create_won_deal(stack.sims.hubspot_url, company=company, lines=[("Licence", "1", BAD_PRICE)])


def _fix_and_win_again(stack: Stack, deal: WonDeal) -> None:
    """What a person does: fix the line, and move the deal out of won and back in."""
    _patch(stack, "line_items", deal.line_item_ids[0], {"price": "1500.00"})
    _patch(stack, "deals", deal.deal_id, {"dealstage": "contractsent"})
    time.sleep(0.01)
    _patch(stack, "deals", deal.deal_id, {"dealstage": "closedwon", "amount": "1500.00"})


@pytest.mark.e2e
def test_a_deal_rolled_back_for_bad_data_then_fixed_and_won_again_is_invoiced_by_its_webhook(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    deal = _bad_deal(stack, "Fixed Later Webhook Co")
    first = _webhook(stack, [created_event(deal.deal_id, 71_001)])
    assert _ended(stack, str(first["batch"]))["started"] == [f"deal-{deal.deal_id}"]
    assert _ended(stack, f"deal-{deal.deal_id}")["status"] == "compensated"
    assert invoices(stack) == []

    _fix_and_win_again(stack, deal)
    second = _webhook(stack, [won_event(deal.deal_id, 71_002)])
    report = _ended(stack, str(second["batch"]))

    assert report["started"] == [f"deal-{deal.deal_id}-g2"], report
    assert _ended(stack, f"deal-{deal.deal_id}-g2")["status"] == "completed"
    [invoice] = invoices(stack)
    assert invoice["Reference"] == f"Deal {deal.deal_id}" and invoice["SubTotal"] == 1500
    assert deal_props(stack, deal.deal_id)["invoice_sync_status"] == "synced"


@pytest.mark.e2e
def test_a_deal_rolled_back_for_bad_data_then_fixed_and_won_again_is_invoiced_by_the_batch(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    since = datetime.now(UTC) - timedelta(seconds=5)
    deal = _bad_deal(stack, "Fixed Later Batch Co")
    assert _batch(stack, since)["started"] == 1
    assert _ended(stack, f"deal-{deal.deal_id}")["status"] == "compensated"
    # Not touched since: the next batch leaves it alone (no retry loop over data nobody fixed).
    assert _batch(stack, since)["started"] == 0

    _fix_and_win_again(stack, deal)
    summary = _batch(stack, since)

    assert summary["started"] == 1, summary
    assert _ended(stack, f"deal-{deal.deal_id}-g2")["status"] == "completed"
    [invoice] = invoices(stack)
    assert invoice["Reference"] == f"Deal {deal.deal_id}"
    assert _batch(stack, since)["started"] == 0  # invoiced: never again


@pytest.mark.e2e
def test_a_win_arriving_while_the_creation_run_is_finishing_starts_the_next_generation_once_it_ends(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Racing Win Co", stage="appointmentscheduled")
    # The creation run reads the deal (not won yet), and its answer takes 3 s to arrive: alone (GET) or in a
    # batched load (one batch read), whichever way the load step goes.
    stack.sims.hubspot.add_fault(f"/crm/objects/2026-09/deals/{deal.deal_id}", None, method="GET", after=True,
                                 delay_ms=3000, times=1)
    stack.sims.hubspot.add_fault("/crm/objects/2026-09/deals/batch/read", None, method="POST", after=True,
                                 delay_ms=3000, times=1)
    created = _webhook(stack, [created_event(deal.deal_id, 72_001)])
    tx = f"deal-{deal.deal_id}"

    def read() -> bool:
        return any((r["method"] == "GET" and r["path"].endswith(f"/deals/{deal.deal_id}"))
                   or (r["method"] == "POST" and r["path"].endswith("/deals/batch/read"))
                   for r in stack.sims.hubspot.requests())

    wait_for("the creation run to read the deal", read)
    _patch(stack, "deals", deal.deal_id, {"dealstage": "closedwon"})
    won = _webhook(stack, [won_event(deal.deal_id, 72_002)])
    status = stack.client.status(tx)
    assert status is not None and status["runtimeStatus"] == "Running", status  # the race is real

    assert _ended(stack, str(created["batch"]))["started"] == [tx]
    assert _ended(stack, tx)["status"] == "skipped"
    report = _ended(stack, str(won["batch"]))

    # The webhook batch says what happened to the win: it waited for the finishing run, then started.
    assert report["started"] == [f"{tx}-g2"] and report["waited_for"] == [tx], report
    assert report["duplicates"] == []
    assert _ended(stack, f"{tx}-g2")["status"] == "completed"
    assert [i["Reference"] for i in invoices(stack)] == [f"Deal {deal.deal_id}"]


@pytest.mark.e2e
def test_one_unreadable_deal_fails_alone_and_is_reported_while_the_batch_invoices_the_others(
    fresh_stack: Stack, caplog: pytest.LogCaptureFixture,
) -> None:
    stack = fresh_stack
    since = datetime.now(UTC) - timedelta(seconds=5)
    good = [create_won_deal(stack.sims.hubspot_url, company=f"Readable Co {i}") for i in range(3)]
    bad = create_won_deal(stack.sims.hubspot_url, company="Unreadable Co")
    _patch(stack, "deals", bad.deal_id, {"payment_terms_days": "99999"})  # out of range: the deal cannot be read
    more = [create_won_deal(stack.sims.hubspot_url, company=f"Readable Co {i}") for i in range(3, 5)]

    summary = _batch(stack, since)

    assert "error" not in summary, summary
    assert summary["started"] == 6, summary  # the unreadable deal too: its transaction says why it failed
    assert [u["deal_id"] for u in summary["unreadable"]] == [bad.deal_id], summary
    assert "payment_terms_days" in summary["unreadable"][0]["message"]
    for deal in good + more:
        assert _ended(stack, f"deal-{deal.deal_id}")["status"] == "completed"
    failed = _ended(stack, f"deal-{bad.deal_id}")
    assert failed["status"] == "compensated" and "payment_terms_days" in failed["reason"]["message"]
    assert sorted(i["Reference"] for i in invoices(stack)) == sorted(f"Deal {d.deal_id}" for d in good + more)
    logged = stack.host.stderr_text() + "\n".join(stack.host._stdout_lines)
    assert f"sync attention: status=compensated transaction=deal-{bad.deal_id} deal={bad.deal_id}" in logged
    assert json.dumps(summary)  # plain JSON
