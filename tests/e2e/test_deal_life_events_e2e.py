"""After invoicing, end to end: HubSpot's webhook delivery (subscribed as hubspot-app's webhooks-hsmeta.json says)
reaches the unmodified app on devhost; a changed deal updates its invoice, a lost one voids it, a lost deal whose
invoice is paid is flagged, and the same delivery twice is applied once. Xero traffic is checked against its spec."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import deal_props, wait_for
from tests.infra.hubspot_project import WEBHOOKS_FILE
from tests.support.crm_data import WonDeal, create_won_deal
from tests.support.settings import sample_settings
from tests.support.signed_webhooks import hubspot_headers
from tests.support.xero_spec import spec_problems

SECRET = sample_settings()["HUBSPOT_APP_SECRET"]
WEBHOOK_PATH = "/api/webhooks/hubspot"
# The subscriptions the app declares to HubSpot, as HubSpot would deliver them.
SUBSCRIPTIONS = json.loads(WEBHOOKS_FILE.read_text())["config"]["subscriptions"]["legacyCrmObjects"]
HUBSPOT = "/crm/objects/2026-09"


stack_host = module_host(FAST_APP_LIMITS)


def invoiced_deal(stack: Stack) -> tuple[WonDeal, dict[str, Any]]:
    """A won deal invoiced by its sync, then the app's webhook subscription installed (from now on HubSpot tells)."""
    deal = create_won_deal(stack.sims.hubspot_url, company=f"Life {time.monotonic_ns()}",
                           lines=[("Seats", "3", "40.00")])
    done = stack.run_deal(deal.deal_id)
    assert done["output"]["status"] == "completed", done
    stack.sims.hubspot.subscribe(stack.client.base_url + WEBHOOK_PATH, SECRET, subscriptions=SUBSCRIPTIONS,
                                 batch_window_ms=50)
    [invoice] = stack.sims.xero.state()["invoices"]
    return deal, invoice


def patch(stack: Stack, kind: str, object_id: str, **props: str) -> None:
    answer = httpx.patch(f"{stack.sims.hubspot_url}{HUBSPOT}/{kind}/{object_id}", json={"properties": props},
                         headers={"Authorization": "Bearer test-token"}, timeout=10)
    assert answer.status_code == 200, answer.text


def life_event(stack: Stack, deal_id: str, n: int = 1) -> dict[str, Any]:
    tx = f"deal-{deal_id}-change{n}"
    wait_for(f"{tx} to start", lambda: stack.client.status(tx), timeout=20)
    return stack.client.wait(tx, timeout=30)


def xero_invoice(stack: Stack, invoice_id: str) -> dict[str, Any]:
    return next(i for i in stack.sims.xero.state()["invoices"] if i["InvoiceID"] == invoice_id)


def ledger_row(stack: Stack, deal_id: str, tx: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        return next((r for r in stack.ledger_rows(deal_id) if r["id"] == tx and r["status"] not in ("running",)),
                    None)
    return dict(wait_for(f"the ledger row of {tx}", found, timeout=10))


def assert_xero_traffic_matches_the_spec(stack: Stack) -> None:
    problems = spec_problems(stack.sims.xero.requests())
    assert problems == [], "\n".join(problems)


@pytest.mark.e2e
def test_an_invoiced_deal_whose_amount_changes_gets_its_invoice_updated_as_a_visible_invoice_update(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal, invoice = invoiced_deal(stack)
    assert Decimal(str(invoice["Total"])) == Decimal("138.00")  # 3 x 40.00 plus 15 % tax
    # A person adds two seats: HubSpot recomputes the deal's amount from its lines, and tells the app.
    patch(stack, "line_items", deal.line_item_ids[0], quantity="5")
    patch(stack, "deals", deal.deal_id, amount="200.00")
    done = life_event(stack, deal.deal_id)
    assert done["output"]["status"] == "completed" and done["output"]["outcome"] == "updated", done
    updated = xero_invoice(stack, invoice["InvoiceID"])
    assert Decimal(str(updated["Total"])) == Decimal("230.00") and updated["Status"] == "AUTHORISED"
    assert updated["InvoiceNumber"] == invoice["InvoiceNumber"]  # the same invoice, edited
    props = deal_props(stack, deal.deal_id)
    assert props["invoice_sync_status"] == "synced" and "updated to match the deal" in props["invoice_sync_error"]
    row = ledger_row(stack, deal.deal_id, f"deal-{deal.deal_id}-change1")
    assert (row["kind"], row["status"], row["amount"]) == ("invoice_update", "completed", "200.00")
    shown = httpx.get(f"{stack.client.base_url}/api/transactions/deal-{deal.deal_id}-change1", timeout=10).json()
    assert shown["kind"] == "invoice_update" and shown["actions"] == []
    assert_xero_traffic_matches_the_spec(stack)


@pytest.mark.e2e
def test_an_invoiced_deal_moved_out_of_the_won_stage_gets_its_invoice_voided_and_says_so(fast_stack: Stack) -> None:
    stack = fast_stack
    deal, invoice = invoiced_deal(stack)
    # Xero tells the app of every change of the invoice, the app's own void included.
    settings = sample_settings()
    stack.sims.xero.config(tenant_ids=[settings["XERO_TENANT_ID"]])
    stack.sims.xero.set_webhook(stack.client.base_url + "/api/webhooks/xero", settings["XERO_WEBHOOK_KEY"])
    patch(stack, "deals", deal.deal_id, dealstage="closedlost")
    done = life_event(stack, deal.deal_id)
    assert done["output"]["status"] == "completed" and done["output"]["outcome"] == "voided", done
    assert xero_invoice(stack, invoice["InvoiceID"])["Status"] == "VOIDED"
    told = stack.client.wait(f"paid-{invoice['InvoiceID'].lower()}", timeout=30)
    assert told["output"]["outcome"] == "invoice_voided" and not told["output"]["transaction_id"], told
    props = deal_props(stack, deal.deal_id)
    assert props["invoice_sync_status"] == "voided" and "is voided" in props["invoice_sync_error"]
    assert "Retry" not in props["invoice_sync_error"]  # a lost deal is not to be invoiced again
    assert ledger_row(stack, deal.deal_id, f"deal-{deal.deal_id}-change1")["kind"] == "invoice_void"
    assert_xero_traffic_matches_the_spec(stack)


@pytest.mark.e2e
def test_a_lost_deal_whose_invoice_is_paid_is_flagged_credit_note_needed_and_nothing_is_voided(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal, invoice = invoiced_deal(stack)
    stack.sims.xero.pay_invoice(invoice["InvoiceID"])
    patch(stack, "deals", deal.deal_id, dealstage="closedlost")
    done = life_event(stack, deal.deal_id)
    assert done["output"]["status"] == "needs_attention", done
    assert done["output"]["reason"]["code"] == "credit_note_needed"
    assert xero_invoice(stack, invoice["InvoiceID"])["Status"] == "PAID"
    props = deal_props(stack, deal.deal_id)
    assert props["invoice_sync_status"] == "needs_attention"
    assert props["invoice_sync_error"].startswith("credit note needed")
    row = ledger_row(stack, deal.deal_id, f"deal-{deal.deal_id}-change1")
    assert (row["kind"], row["status"]) == ("invoice_void", "needs_attention")


@pytest.mark.e2e
def test_the_same_webhook_delivered_twice_is_applied_once(fast_stack: Stack) -> None:
    stack = fast_stack
    deal, invoice = invoiced_deal(stack)
    stack.sims.hubspot.unsubscribe()  # this test delivers by hand, twice
    patch(stack, "line_items", deal.line_item_ids[0], quantity="4")
    event = {"eventId": 777, "subscriptionId": 1003, "portalId": 1000001, "appId": 1, "occurredAt": 1,
             "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": int(deal.deal_id),
             "propertyName": "amount", "propertyValue": "160.00", "changeSource": "CRM_UI"}
    body = json.dumps([event]).encode()
    url = stack.client.base_url + WEBHOOK_PATH
    headers = hubspot_headers(SECRET, url, body)
    first = httpx.post(url, content=body, headers=headers, timeout=10).json()
    assert first["life_events"] == [deal.deal_id] and first["life_duplicate"] is False, first
    assert life_event(stack, deal.deal_id)["output"]["outcome"] == "updated"
    again = httpx.post(url, content=body, headers=headers, timeout=10).json()  # HubSpot's retry, same bytes
    assert again == {**first, "life_duplicate": True}
    # The same event in another delivery (a new batch): its life event reads the deal and finds nothing to do.
    retried = json.dumps([{**event, "attemptNumber": 1}, {**event, "eventId": 778}]).encode()
    headers = hubspot_headers(SECRET, url, retried)
    assert httpx.post(url, content=retried, headers=headers, timeout=10).json()["life_duplicate"] is False
    second = life_event(stack, deal.deal_id, 2)
    assert second["output"]["status"] == "no_op", second
    edits = [r for r in stack.sims.xero.requests() if r["method"] == "POST"
             and r["path"].endswith(f"/Invoices/{invoice['InvoiceID']}")]
    assert len(edits) == 1 and Decimal(str(xero_invoice(stack, invoice["InvoiceID"])["Total"])) == Decimal("184.00")
    assert [r["id"] for r in stack.ledger_rows(deal.deal_id) if "-change" in r["id"]] == [
        f"deal-{deal.deal_id}-change1"]  # the no-op left no transaction


@pytest.mark.e2e
def test_a_deleted_deal_has_the_invoice_its_sync_recorded_voided(fast_stack: Stack) -> None:
    stack = fast_stack
    deal, invoice = invoiced_deal(stack)
    answer = httpx.delete(f"{stack.sims.hubspot_url}{HUBSPOT}/deals/{deal.deal_id}",
                          headers={"Authorization": "Bearer test-token"}, timeout=10)
    assert answer.status_code == 204, answer.text
    done = life_event(stack, deal.deal_id)
    assert done["output"]["status"] == "completed" and done["output"]["outcome"] == "voided", done
    assert xero_invoice(stack, invoice["InvoiceID"])["Status"] == "VOIDED"
    assert ledger_row(stack, deal.deal_id, f"deal-{deal.deal_id}-change1")["kind"] == "invoice_void"


@pytest.mark.e2e
def test_an_edited_invoice_keeps_four_decimal_prices_and_per_unit_discounts_and_a_later_event_finds_it_matching(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url, company=f"Life {time.monotonic_ns()}",
                           lines=[("Meter reads", "3", "12.3456")])
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "completed"
    stack.sims.hubspot.subscribe(stack.client.base_url + WEBHOOK_PATH, SECRET, subscriptions=SUBSCRIPTIONS,
                                 batch_window_ms=50)
    [invoice] = stack.sims.xero.state()["invoices"]
    assert Decimal(str(invoice["SubTotal"])) == Decimal("37.04")
    # 2.50 off each of the three units: HubSpot's line amount 3 x (12.3456 - 2.50) = 29.5368.
    patch(stack, "line_items", deal.line_item_ids[0], discount="2.50")
    patch(stack, "deals", deal.deal_id, amount="29.5368")
    done = life_event(stack, deal.deal_id)
    assert done["output"]["outcome"] == "updated", done
    updated = xero_invoice(stack, invoice["InvoiceID"])
    assert Decimal(str(updated["SubTotal"])) == Decimal("29.54"), updated
    assert [Decimal(str(li["UnitAmount"])) for li in updated["LineItems"]] == [Decimal("12.3456")]

    # The invoice as Xero now holds it (4-decimal price, the line's discount amount) is what the deal maps to.
    patch(stack, "deals", deal.deal_id, amount="29.54")
    again = life_event(stack, deal.deal_id, 2)
    assert again["output"]["status"] == "no_op", again
    assert_xero_traffic_matches_the_spec(stack)
