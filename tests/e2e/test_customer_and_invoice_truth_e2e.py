"""Issue 13: the right customer, only our invoice's events, a hand-voided invoice, a deleted deal, sane dates.

devhost runs the unmodified app with a real Azurite and the HubSpot and Xero simulators (default settings:
name collisions are disambiguated, out-of-range close dates give an invoice dated today).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared import names
from shared.connectors.xero import XeroClient
from shared.domain.models import Customer, InvoiceDraft, InvoiceLine
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import XERO_API, contacts, deal_props, invoices, ledger_row, start_deal, wait_for
from tests.support.crm_data import create_won_deal
from tests.support.settings import sample_settings

SETTINGS = sample_settings()
XERO_PATH = "/api/webhooks/xero"


stack_host = module_host(FAST_APP_LIMITS)


def _by_reference(stack: Stack, deal_id: str) -> list[dict[str, Any]]:
    return [i for i in invoices(stack) if i.get("Reference") == f"Deal {deal_id}"]


def _contact(stack: Stack, contact_id: str) -> dict[str, Any]:
    return next(c for c in contacts(stack) if c["ContactID"] == contact_id)


def _xero(stack: Stack) -> XeroClient:
    """The Xero API as finance uses it by hand (same organisation, another caller)."""
    return XeroClient(stack.settings["XERO_BASE_URL"], stack.settings["XERO_TOKEN_URL"], SETTINGS["XERO_CLIENT_ID"],
                      SETTINGS["XERO_CLIENT_SECRET"], SETTINGS["XERO_TENANT_ID"], calls_per_minute=None)


def _listen_to_xero(stack: Stack) -> None:
    stack.sims.xero.config(tenant_ids=[SETTINGS["XERO_TENANT_ID"]])
    stack.sims.xero.set_webhook(stack.client.base_url + XERO_PATH, SETTINGS["XERO_WEBHOOK_KEY"])


def _entity(stack: Stack, tx: str) -> dict[str, Any]:
    _, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
    return dict(state or {})


@pytest.mark.e2e
def test_two_companies_with_the_same_name_get_two_invoices_to_two_contacts(fast_stack: Stack) -> None:
    stack = fast_stack
    first = create_won_deal(stack.sims.hubspot_url, company="Acme Ltd")
    second = create_won_deal(stack.sims.hubspot_url, company="Acme Ltd")
    assert stack.run_deal(first.deal_id)["output"]["status"] == "completed"
    assert stack.run_deal(second.deal_id)["output"]["status"] == "completed"

    [one] = _by_reference(stack, first.deal_id)
    [two] = _by_reference(stack, second.deal_id)
    assert one["Contact"]["ContactID"] != two["Contact"]["ContactID"]
    c1, c2 = _contact(stack, one["Contact"]["ContactID"]), _contact(stack, two["Contact"]["ContactID"])
    # Each contact carries its own company's id; the second name says which company it is, readably.
    assert (c1["ContactNumber"], c1["Name"]) == (first.company_id, "Acme Ltd")
    assert (c2["ContactNumber"], c2["Name"]) == (second.company_id, f"Acme Ltd (HubSpot {second.company_id})")

    # A third company of that name gets its own contact too, named after its own id.
    third = create_won_deal(stack.sims.hubspot_url, company="Acme Ltd")
    assert stack.run_deal(third.deal_id)["output"]["status"] == "completed"
    [three] = _by_reference(stack, third.deal_id)
    c3 = _contact(stack, three["Contact"]["ContactID"])
    assert (c3["ContactNumber"], c3["Name"]) == (third.company_id, f"Acme Ltd (HubSpot {third.company_id})")


@pytest.mark.e2e
def test_a_contact_finance_keeps_under_the_same_name_is_never_adopted(fast_stack: Stack) -> None:
    stack = fast_stack
    with _xero(stack) as xero:
        theirs = xero.create_customer(Customer(external_id="", name="Globex", email="nancy@northwind.example"),
                                      "by-hand-globex")
    deal = create_won_deal(stack.sims.hubspot_url, company="Globex")
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "completed"
    [invoice] = _by_reference(stack, deal.deal_id)
    assert invoice["Contact"]["ContactID"] != theirs.id
    assert _contact(stack, invoice["Contact"]["ContactID"])["ContactNumber"] == deal.company_id
    assert _contact(stack, theirs.id)["ContactStatus"] == "ACTIVE"  # theirs, untouched


@pytest.mark.e2e
def test_paying_a_hand_made_invoice_with_the_deals_reference_does_not_mark_the_deal_paid(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Late Fee Ltd")
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "completed"
    [ours] = _by_reference(stack, deal.deal_id)
    # Finance raises a late fee by hand, with the same reference text, and it is paid.
    with _xero(stack) as xero:
        fee = xero.create_invoice(InvoiceDraft(
            customer_id=ours["Contact"]["ContactID"], reference=f"Deal {deal.deal_id}", currency="EUR",
            issue_date=date(2026, 11, 20), due_date=date(2026, 12, 20),
            lines=(InvoiceLine(description="Late fee", quantity=Decimal(1), unit_amount=Decimal("25.00"),
                               account_code="200", tax_type="OUTPUT"),)), "by-hand-late-fee")
    _listen_to_xero(stack)
    paid = stack.sims.xero.pay_invoice(fee.id, wait_for_webhook=True)
    assert paid["webhook"]["status"] == 200, paid["webhook"]
    done = stack.client.wait(f"paid-{fee.id}", timeout=60)
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"]["outcome"] == "not_ours", done["output"]

    props = deal_props(stack, deal.deal_id)
    assert props.get("invoice_paid_status") in (None, "")
    assert props["xero_invoice_id"] == ours["InvoiceID"]  # the stored invoice id is not replaced
    assert props["invoice_sync_status"] == "synced"


@pytest.mark.e2e
def test_an_invoice_voided_by_hand_is_noticed_and_retry_invoices_the_deal_again(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Voided By Hand")
    tx = f"deal-{deal.deal_id}"
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "completed"
    [first] = _by_reference(stack, deal.deal_id)
    _listen_to_xero(stack)

    voided = stack.sims.xero.set_invoice_status(first["InvoiceID"], "VOIDED", wait_for_webhook=True)
    assert voided["webhook"]["status"] == 200, voided["webhook"]
    done = stack.client.wait(f"paid-{first['InvoiceID']}", timeout=60)
    assert done["output"]["outcome"] == "invoice_voided", done["output"]

    props = deal_props(stack, deal.deal_id)
    assert props["invoice_sync_status"] == "voided"
    assert first["InvoiceNumber"] in props["invoice_sync_error"] and "voided" in props["invoice_sync_error"]
    state = wait_for("the transaction to know", lambda: (s := _entity(stack, tx))["external_ids"].get(
        "invoice_status") == "VOIDED" and s)
    assert state["status"] == "completed"
    shown = httpx.get(f"{stack.client.base_url}/api/transactions/{tx}", timeout=10).json()
    assert shown["actions"] == ["retry"], shown
    row = wait_for("the ledger row", lambda: (r := ledger_row(stack, deal.deal_id))["external_ids"].get(
        "invoice_status") == "VOIDED" and r)
    assert row["status"] == "completed" and "voided" in row["error"]

    again = httpx.post(f"{stack.client.base_url}/api/transactions/{tx}/retry", timeout=10)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == f"{tx}-g2"
    assert stack.client.wait(f"{tx}-g2", timeout=60)["output"]["status"] == "completed"
    statuses = sorted(i["Status"] for i in _by_reference(stack, deal.deal_id))
    assert statuses == ["AUTHORISED", "VOIDED"]
    [live] = [i for i in _by_reference(stack, deal.deal_id) if i["Status"] == "AUTHORISED"]
    props = deal_props(stack, deal.deal_id)
    assert (props["invoice_sync_status"], props["xero_invoice_id"]) == ("synced", live["InvoiceID"])
    assert live["Contact"]["ContactID"] == first["Contact"]["ContactID"]


@pytest.mark.e2e
def test_a_deal_deleted_in_hubspot_mid_saga_ends_compensated_saying_so(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Gone Midway")
    # Xero is slow to create the invoice: long enough for someone to delete the deal meanwhile.
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", None, method="PUT", times=1, delay_ms=2500)
    tx = start_deal(stack, deal.deal_id)
    wait_for("the claim", lambda: deal_props(stack, deal.deal_id).get("invoice_sync_status") == "in_progress")
    deleted = httpx.delete(f"{stack.sims.hubspot_url}/crm/objects/2026-09/deals/{deal.deal_id}", timeout=10,
                           headers={"Authorization": "Bearer test-token"})
    assert deleted.status_code == 204

    def settled() -> dict[str, Any] | None:
        state = _entity(stack, tx)
        return state if state.get("status") in ("compensated", "needs_attention", "completed") else None

    state = wait_for("the transaction to settle", settled, timeout=60)
    assert state["status"] == "compensated", (state["status"], state.get("pending_compensations"))
    assert state["reason"]["code"] == "deal_deleted", state["reason"]
    assert deal.deal_id in state["reason"]["message"] and "deleted" in state["reason"]["message"]
    assert stack.client.wait(tx, timeout=30)["output"]["status"] == "compensated"
    assert [i["Status"] for i in _by_reference(stack, deal.deal_id)] == ["VOIDED"]


@pytest.mark.e2e
@pytest.mark.parametrize("close_date", ["2019-03-01", "2031-06-30"], ids=["seven_years_back", "in_the_future"])
def test_an_invoice_for_a_close_date_out_of_the_window_is_dated_today(fast_stack: Stack, close_date: str) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url, company=f"Dated {close_date}", close_date=close_date)
    tx = f"deal-{deal.deal_id}"
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "completed"
    [invoice] = _by_reference(stack, deal.deal_id)
    today = _entity(stack, tx)["created_at"][:10]  # the saga's today (devhost's clock)
    assert invoice["DateString"][:10] == today != close_date


@pytest.mark.e2e
def test_a_rollback_leaves_one_line_on_the_deal_saying_why(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Refused Account")
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", 400, method="PUT", times=1, body={
        "ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": "Account code '200' is not a valid code for this document."}]}]})
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "compensated"
    marker = deal_props(stack, deal.deal_id).get("invoice_sync_error") or ""
    assert "\n" not in marker and len(marker) <= 300, marker
    assert "invoice" in marker and "Account code '200' is not a valid code" in marker, marker
    props = deal_props(stack, deal.deal_id)
    assert props.get("invoice_sync_status") in (None, "")  # the lock is released, only the reason stays
