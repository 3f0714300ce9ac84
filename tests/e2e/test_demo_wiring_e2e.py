"""Issue 13: `make run`'s demo wiring makes a paid invoice reach its deal (the simulator is the app's tenant)."""

from __future__ import annotations

import httpx
import pytest

from scripts.local_stack import demo_values, wire_demo
from tests.e2e.conftest import Stack
from tests.e2e.saga_helpers import deal_props, invoices, wait_for
from tests.support.crm_data import create_won_deal


@pytest.mark.e2e
def test_the_demo_wiring_lets_a_won_deal_be_invoiced_by_its_webhook_and_a_payment_in_xero_mark_it_paid(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Demo Paid Co", stage="contractsent")
    # What `make run` does once everything is up, against this test's own ports.
    wire_demo(stack.client.base_url, stack.sims.hubspot_url, stack.sims.xero_url, demo_values())

    # The user moves the deal to won in the CRM; the simulator sends the signed webhook.
    with httpx.Client(base_url=stack.sims.hubspot_url, headers={"Authorization": "Bearer demo"}, timeout=10) as http:
        http.patch(f"/crm/objects/2026-09/deals/{deal.deal_id}",
                   json={"properties": {"dealstage": "closedwon"}}).raise_for_status()
    [invoice] = wait_for("the invoice", lambda: invoices(stack), timeout=60)
    wait_for("the write-back", lambda: deal_props(stack, deal.deal_id).get("invoice_sync_status") == "synced",
             timeout=60)

    paid = stack.sims.xero.pay_invoice(invoice["InvoiceID"], wait_for_webhook=True)

    assert paid["webhook"]["status"] == 200, paid["webhook"]
    done = stack.client.wait(f"paid-{invoice['InvoiceID'].lower()}", timeout=60)
    assert done["output"]["outcome"] == "marked_paid", done
    assert deal_props(stack, deal.deal_id)["invoice_paid_status"] == "paid"
