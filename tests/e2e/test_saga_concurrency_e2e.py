"""Issue 5, concurrency: the same deal started many times at once still gets exactly one invoice."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devhost.testing import DevHostError
from tests.e2e.conftest import FAST_APP_LIMITS, POLICY, Stack, module_host
from tests.e2e.saga_helpers import contacts, deal_props, invoices, wait_for
from tests.support.crm_data import create_won_deal
from tests.support.settings import sample_settings
from tests.support.signed_webhooks import hubspot_headers

HUBSPOT_SECRET = sample_settings()["HUBSPOT_APP_SECRET"]
WEBHOOK = "/api/webhooks/hubspot"


stack_host = module_host(FAST_APP_LIMITS)


def _webhook(stack: Stack, deal_id: str, event_id: int) -> int:
    body = json.dumps([{
        "eventId": event_id, "subscriptionId": 1, "portalId": 12345678, "appId": 424242, "occurredAt": 1,
        "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": int(deal_id),
        "propertyName": "dealstage", "propertyValue": "closedwon", "changeSource": "CRM_UI"}]).encode()
    url = stack.client.base_url + WEBHOOK
    request = urllib.request.Request(url, data=body, method="POST", headers=hubspot_headers(HUBSPOT_SECRET, url, body))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def _durable_start(stack: Stack, deal_id: str) -> str:
    try:
        stack.client.start("deal_sync", {"deal_id": deal_id, "trigger": "test", "policy": POLICY},
                           f"deal-{deal_id}")
    except DevHostError as exc:  # the instance is already pending or running: the start is refused
        return f"refused: {exc}"
    return "started"


@pytest.mark.e2e
def test_the_same_deal_started_ten_times_at_once_through_the_durable_api_and_webhooks_gets_one_invoice(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    barrier = threading.Barrier(10)
    tx = f"deal-{deal.deal_id}"

    def durable(_: int) -> Any:
        barrier.wait()
        return _durable_start(stack, deal.deal_id)

    def webhook(i: int) -> Any:
        barrier.wait()
        return _webhook(stack, deal.deal_id, 9000 + i)

    with ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(durable, i) for i in range(5)] + [pool.submit(webhook, i) for i in range(5)]
        results = [f.result(timeout=60) for f in futures]

    assert results[:5].count("started") <= 1, results  # the others were refused: the instance existed
    assert all(r in (200, 202, 204) for r in results[5:]), results  # every webhook was accepted
    status = stack.client.wait(tx, timeout=60)
    wait_for("devhost idle", lambda: stack.client.health().get("idle"))
    status = stack.client.wait(tx, timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    [invoice] = invoices(stack)
    [contact] = contacts(stack)
    assert invoice["Status"] == "AUTHORISED" and contact["ContactStatus"] == "ACTIVE"
    creates = [r for r in stack.sims.xero.requests() if r["method"] == "PUT" and r["path"].endswith("/Invoices")]
    assert len({r["headers"].get("Idempotency-Key") for r in creates}) == 1, creates
    props = deal_props(stack, deal.deal_id)
    assert (props["invoice_sync_status"], props["xero_invoice_id"]) == ("synced", invoice["InvoiceID"])
    statuses = [r["status"] for r in stack.ledger_rows(deal.deal_id)]
    assert statuses and all(s in ("completed", "already_synced") for s in statuses), statuses
    assert "completed" in statuses
