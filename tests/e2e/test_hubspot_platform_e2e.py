"""HubSpot's 2026 platform end to end: date-based paths only, paged associations, portal rules, webhook delivery."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.connectors.hubspot import HubSpotClient
from tests.e2e.conftest import POLICY, TOKEN, Stack, app_paths
from tests.support.crm_data import create_won_deal
from tests.support.settings import sample_settings

HUBSPOT_SECRET = sample_settings()["HUBSPOT_APP_SECRET"]
WEBHOOK_PATH = "/api/webhooks/hubspot"
NUMERIC = re.compile(r"/v\d+/")


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def move_stage(stack: Stack, deal_id: str, stage: str) -> None:
    """A person moves the deal in HubSpot (the public API, as the UI does)."""
    httpx.patch(f"{stack.sims.hubspot_url}/crm/objects/2026-09/deals/{deal_id}", timeout=10,
                headers={"Authorization": "Bearer person"},
                json={"properties": {"dealstage": stage}}).raise_for_status()


def deal_props(stack: Stack, deal_id: str) -> dict[str, Any]:
    return dict(stack.sims.hubspot.state()["objects"]["deals"][deal_id]["properties"])


def invoices_for(stack: Stack, deal_id: str) -> list[dict[str, Any]]:
    return [i for i in stack.sims.xero.state()["invoices"] if i.get("Reference") == f"Deal {deal_id}"]


@pytest.mark.e2e
def test_every_hubspot_call_of_the_main_flows_uses_a_date_based_path(fresh_stack: Stack) -> None:
    stack = fresh_stack
    stack.sims.hubspot.clear_paths()
    with HubSpotClient(stack.sims.hubspot_url, TOKEN, requests_per_10s=None) as setup:  # the setup command
        assert setup.ensure_app_properties() == []  # all there already: each answered 409
    # A deal read with GraphQL, one read over REST, one started by a webhook, then the scheduled batch.
    by_graphql = create_won_deal(stack.sims.hubspot_url, company="Paths GraphQL")
    assert stack.run_deal(by_graphql.deal_id)["output"]["status"] == "completed"
    stack.sims.hubspot.config(graphql=False)
    by_rest = create_won_deal(stack.sims.hubspot_url, company="Paths REST")
    assert stack.run_deal(by_rest.deal_id)["output"]["status"] == "completed"
    stack.sims.hubspot.set_webhook(stack.client.base_url + WEBHOOK_PATH, HUBSPOT_SECRET)
    by_webhook = create_won_deal(stack.sims.hubspot_url, company="Paths Webhook", stage="contractsent")
    move_stage(stack, by_webhook.deal_id, "closedwon")
    wait_for("the webhook's deal to be invoiced",
             lambda: deal_props(stack, by_webhook.deal_id).get("invoice_sync_status") == "synced")
    create_won_deal(stack.sims.hubspot_url, company="Paths Batch")
    stack.client.start("batch_sync", {"since": None, "stage": "closedwon", "page_size": 100, "concurrency": 2,
                                      "trigger": "test", "policy": POLICY}, "batch-sync-paths")
    assert stack.client.wait("batch-sync-paths", timeout=90)["runtimeStatus"] == "Completed"

    sent = app_paths(stack.sims)
    calls = sorted({f"{p['method']} {re.sub(r'/[0-9]{5,}', '/{id}', p['path'])}" for p in sent})
    assert [c for c in calls if NUMERIC.search(c)] == []
    # What the app calls, all on the configured date version (2026-09).
    assert {
        "POST /collector/graphql",
        "GET /crm/objects/2026-09/deals/{id}",
        "PATCH /crm/objects/2026-09/deals/{id}",
        "POST /crm/objects/2026-09/line_items/batch/read",
        "GET /crm/objects/2026-09/companies/{id}",
        "GET /crm/objects/2026-09/contacts/{id}",
        "POST /crm/objects/2026-09/deals/search",
        "POST /crm/properties/2026-09/deals",
        "POST /crm/properties/2026-09/deals/groups",
    } <= set(calls), calls
    assert all(c == "POST /collector/graphql" or "/2026-09/" in c for c in calls), calls
