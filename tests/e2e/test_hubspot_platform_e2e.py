"""HubSpot's 2026 platform end to end: date-based paths only, paged associations, portal rules, webhook delivery."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.connectors.hubspot import HubSpotClient
from tests.e2e.conftest import POLICY, TOKEN, Stack, app_paths
from tests.e2e.saga_helpers import assert_hubspot_put_back, hubspot_data, ledger_row, xero_data, xero_live
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


def invoice_250_lines(stack: Stack, read: str) -> None:
    stack.sims.hubspot.config(requests_per_10s=0, graphql=read == "graphql")  # 250 creates in a row
    lines = [(f"Part {n}", str(1 + n % 3), f"{10 + n}.{n % 100:02d}") for n in range(250)]
    deal = create_won_deal(stack.sims.hubspot_url, company=f"Big Order {read}", lines=lines)
    stack.sims.hubspot.clear_requests()
    status = stack.run_deal(deal.deal_id, timeout=120)
    assert status["output"]["status"] == "completed", status

    [invoice] = invoices_for(stack, deal.deal_id)
    assert len(invoice["LineItems"]) == 250
    assert [li["Description"] for li in invoice["LineItems"]] == [name for name, _, _ in lines]
    assert Decimal(str(invoice["SubTotal"])) == deal.total
    assert deal_props(stack, deal.deal_id)["xero_invoice_id"] == invoice["InvoiceID"]
    reads = [r["path"] for r in stack.sims.hubspot.requests() if r["method"] in ("GET", "POST")]
    if read == "graphql":
        assert reads == ["/collector/graphql"] * 3  # the deal with its first 100 lines, then 100 and 50
        assert Decimal(str(invoice["SubTotal"])) > 0
    else:
        assert f"/crm/objects/2026-09/deals/{deal.deal_id}/associations/line_items" in reads
        assert reads.count("/crm/objects/2026-09/line_items/batch/read") == 3


def invoice_via_reseller(stack: Stack, read: str) -> None:
    stack.sims.hubspot.config(graphql=read == "graphql")
    with httpx.Client(base_url=stack.sims.hubspot_url, headers={"Authorization": "Bearer person"}, timeout=10) as crm:
        reseller = crm.post("/crm/objects/2026-09/companies", json={"properties": {"name": f"Reseller {read}"}})
        reseller_id = reseller.raise_for_status().json()["id"]  # made first: the lower id
        deal = create_won_deal(stack.sims.hubspot_url, company=f"End Customer {read}")
        crm.put(f"/crm/objects/2026-09/deals/{deal.deal_id}/associations/companies/{reseller_id}",
                json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}]).raise_for_status()
    stack.sims.hubspot.clear_requests()
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "completed"
    [invoice] = invoices_for(stack, deal.deal_id)
    assert invoice["Contact"]["Name"] == f"End Customer {read}"
    [contact] = [c for c in stack.sims.xero.state()["contacts"] if c["ContactID"] == invoice["Contact"]["ContactID"]]
    assert contact["ContactNumber"] == deal.company_id
    read_over_rest = any(r["path"] == f"/crm/objects/2026-09/deals/{deal.deal_id}" and r["method"] == "GET"
                         for r in stack.sims.hubspot.requests())
    assert read_over_rest is (read == "rest")


# GraphQL cases first: once a portal refuses GraphQL, the app reads over REST for the next hour.
@pytest.mark.e2e
def test_a_deal_with_a_reseller_is_invoiced_to_its_primary_company_read_over_graphql(fresh_stack: Stack) -> None:
    invoice_via_reseller(fresh_stack, "graphql")


@pytest.mark.e2e
def test_a_deal_with_250_line_items_read_over_graphql_becomes_one_invoice_with_250_lines(
    fresh_stack: Stack,
) -> None:
    invoice_250_lines(fresh_stack, "graphql")


@pytest.mark.e2e
def test_a_deal_with_a_reseller_is_invoiced_to_its_primary_company_read_over_rest(fresh_stack: Stack) -> None:
    invoice_via_reseller(fresh_stack, "rest")


@pytest.mark.e2e
def test_a_deal_with_250_line_items_read_over_rest_becomes_one_invoice_with_250_lines(fresh_stack: Stack) -> None:
    invoice_250_lines(fresh_stack, "rest")


@pytest.mark.e2e
def test_every_hubspot_call_of_the_main_flows_uses_a_date_based_path(fresh_stack: Stack) -> None:
    stack = fresh_stack
    stack.sims.hubspot.clear_paths()
    with HubSpotClient(stack.sims.hubspot_url, TOKEN, requests_per_10s=None) as setup:  # the setup command
        assert setup.ensure_app_properties() == []  # all there already: each answered 409
    # A deal read (GraphQL where the portal has it), one over REST, one started by a webhook, then the batch.
    first = create_won_deal(stack.sims.hubspot_url, company="Paths First")
    assert stack.run_deal(first.deal_id)["output"]["status"] == "completed"
    stack.sims.hubspot.config(graphql=False)
    by_rest = create_won_deal(stack.sims.hubspot_url, company="Paths REST")
    assert stack.run_deal(by_rest.deal_id)["output"]["status"] == "completed"
    by_webhook = create_won_deal(stack.sims.hubspot_url, company="Paths Webhook", stage="contractsent")
    stack.sims.hubspot.set_webhook(stack.client.base_url + WEBHOOK_PATH, HUBSPOT_SECRET)
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


@pytest.mark.e2e
def test_a_portal_rule_that_refuses_the_write_back_ends_the_transaction_with_that_reason_and_both_systems_back(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Rule Bound Ltd")
    # The portal's admin made "Deal type" required on every synced deal (a conditionally required property).
    stack.sims.hubspot.config(validation_rules=[
        {"objectType": "deals", "property": "dealtype", "when": {"invoice_sync_status": "synced"}}])
    hubspot_before, xero_before = hubspot_data(stack), xero_data(stack)
    stack.sims.hubspot.clear_requests()

    status = stack.run_deal(deal.deal_id)

    assert status["output"]["status"] == "compensated", status["output"]
    assert status["output"]["failed_step"] == "write_back"
    row = ledger_row(stack, deal.deal_id)
    assert (row["status"], row["failed_step"], row["error_service"]) == ("compensated", "write_back", "hubspot")
    assert "dealtype is required by a validation rule of this portal" in row["error"], row["error"]
    shown = httpx.get(f"{stack.client.base_url}/api/transactions/deal-{deal.deal_id}", timeout=10).json()
    assert shown["status"] == "compensated" and "dealtype" in json.dumps(shown), shown
    # Refused once: a business error is not retried.
    refused = [r for r in stack.sims.hubspot.requests() if r["method"] == "PATCH" and r["status"] == 400]
    assert len(refused) == 1, refused
    # Both systems as they were: HubSpot unchanged but for the deal's one-line note saying why, Xero with nothing
    # live left (the invoice voided).
    assert_hubspot_put_back(stack, hubspot_before, deal.deal_id, "write_back")
    assert xero_live(stack, xero_before) == xero_before
    assert [i["Status"] for i in invoices_for(stack, deal.deal_id)] == ["VOIDED"]
