"""Batched deal markers (BATCHED_STEPS): claims, write-backs and their undos, many deals per HubSpot batch update.

Deals are started directly with a policy that batches; the flushers' starts are held back (a devhost delay on
their wake) so that the queued deals fill batches, as a burst does by itself in production.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.batched_helpers import start_batched, won_deals
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import wait_for
from tests.support.crm_data import WonDeal

stack_host = module_host(FAST_APP_LIMITS)
BATCH_UPDATE = "/crm/objects/2026-09/deals/batch/update"


def _deals(stack: Stack, n: int) -> list[WonDeal]:
    return won_deals(stack, n, "Markers Co", 10)


def _start(stack: Stack, deals: list[WonDeal]) -> None:
    start_batched(stack, deals, "e2em")


def _wait(stack: Stack, deals: list[WonDeal]) -> dict[str, dict[str, Any]]:
    return {d.deal_id: stack.client.wait(f"deal-{d.deal_id}", timeout=180) for d in deals}


def _hubspot(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.sims.hubspot_url, timeout=10, headers={"Authorization": "Bearer test-token"})


def _batch_updates(stack: Stack) -> list[list[str]]:
    return [[str(i["id"]) for i in r["body"]["inputs"]] for r in stack.sims.hubspot.requests()
            if r["method"] == "POST" and r["path"].split("?")[0] == BATCH_UPDATE and not r["fault"]]


def _steps(stack: Stack, deal_id: str) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in stack.client.request("GET", f"/api/transactions/deal-{deal_id}")[2]["steps"]}


@pytest.mark.e2e
def test_a_deal_deleted_mid_saga_alone_fails_and_compensates_and_the_other_49_are_invoiced(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deals = _deals(stack, 50)
    stack.sims.hubspot.clear_requests()
    stack.client.add_fault("wake_batch_flusher", "delay", times=-1, delay_ms=2500)
    _start(stack, deals)
    gone = deals[-1]
    with _hubspot(stack) as hubspot:
        def claimed() -> bool:
            deal = hubspot.get(f"/crm/objects/2026-09/deals/{gone.deal_id}",
                               params={"properties": "invoice_sync_status"}).json()
            return deal["properties"].get("invoice_sync_status") == "in_progress"

        wait_for("the deal claimed", claimed, timeout=60, interval=0.1)
        # Deleted after its claim, before its write-back: the write-back's batch is refused for it alone.
        assert hubspot.delete(f"/crm/objects/2026-09/deals/{gone.deal_id}").status_code == 204
    outcomes = _wait(stack, deals)
    statuses = {d: o["output"]["status"] for d, o in outcomes.items()}
    assert statuses.pop(gone.deal_id) == "compensated", outcomes[gone.deal_id]
    assert set(statuses.values()) == {"completed"}
    assert "was deleted in the CRM while it was being invoiced" in json.dumps(outcomes[gone.deal_id]["output"])
    xero = stack.sims.xero.state()
    live = {i["Reference"] for i in xero["invoices"] if i["Status"] == "AUTHORISED"}
    assert live == {f"Deal {d.deal_id}" for d in deals[:-1]}
    updates = _batch_updates(stack)
    # Claims and write-backs of 50 deals in a few calls, not 100 PATCHes.
    assert sum(len(u) for u in updates) >= 80 and len(updates) <= 20, [len(u) for u in updates]
    written = _steps(stack, deals[10].deal_id)["write_back"]
    assert written["batch"]["size"] > 1


@pytest.mark.e2e
def test_a_429_on_the_batch_update_paces_every_deal_of_it_and_fails_none(fast_stack: Stack) -> None:
    stack = fast_stack
    deals = _deals(stack, 11)
    stack.sims.hubspot.clear_requests()
    stack.client.add_fault("wake_batch_flusher", "delay", times=-1, delay_ms=2500)
    stack.sims.hubspot.add_fault(BATCH_UPDATE, 429, method="POST", times=1, headers={"Retry-After": "1"})
    _start(stack, deals)
    outcomes = _wait(stack, deals)
    assert {o["output"]["status"] for o in outcomes.values()} == {"completed"}, outcomes
    faulted = [r for r in stack.sims.hubspot.requests() if r["fault"]]
    assert len(faulted) == 1 and len(faulted[0]["body"]["inputs"]) > 1
    paced = {str(i["id"]) for i in faulted[0]["body"]["inputs"]}
    # The claims' or the write-backs' batch, whichever came first: each deal of it waited and went again.
    for d in deals:
        steps = _steps(stack, d.deal_id)
        retried = any(steps[s]["attempts"] > 1 for s in ("claim", "write_back"))
        assert retried == (d.deal_id in paced), (d.deal_id, steps["claim"], steps["write_back"])
    with _hubspot(stack) as hubspot:
        synced = {hubspot.get(f"/crm/objects/2026-09/deals/{d.deal_id}", params={"properties": "invoice_sync_status"})
                  .json()["properties"]["invoice_sync_status"] for d in deals}
    assert synced == {"synced"}
