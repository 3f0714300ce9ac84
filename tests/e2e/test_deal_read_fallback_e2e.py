"""A HubSpot portal without GraphQL (Starter hubs, or no scope): the saga reads over REST and invoices the same way.

Its own devhost, because the app remembers a portal's refusal for an hour per process.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.conftest import Stack
from tests.support.crm_data import create_won_deal


@pytest.mark.e2e
def test_portal_without_graphql_gets_the_same_invoice_through_rest_reads(stack: Stack) -> None:
    stack.sims.hubspot.config(graphql=False)
    deal = create_won_deal(stack.sims.hubspot_url, company="Tailspin Toys", currency="GBP")
    stack.sims.hubspot.clear_requests()

    status = stack.run_deal(deal.deal_id)

    assert status["output"]["status"] == "completed", status["output"]
    [invoice] = stack.sims.xero.state()["invoices"]
    [contact] = stack.sims.xero.state()["contacts"]
    assert (invoice["Contact"]["Name"], invoice["CurrencyCode"]) == ("Tailspin Toys", "GBP")
    assert Decimal(str(invoice["SubTotal"])) == deal.total
    assert contact["EmailAddress"] == "nancy@northwind.example"  # the contact person's, read over REST
    reads = [f"{r['method']} {r['path']}" for r in stack.sims.hubspot.requests()]
    assert reads == [
        "POST /collector/graphql",  # refused (403): REST from now on
        f"GET /crm/objects/2026-09/deals/{deal.deal_id}",
        "POST /crm/objects/2026-09/line_items/batch/read",
        f"PATCH /crm/objects/2026-09/deals/{deal.deal_id}",
        f"GET /crm/objects/2026-09/companies/{deal.company_id}",
        f"GET /crm/objects/2026-09/contacts/{deal.contact_id}",
        f"PATCH /crm/objects/2026-09/deals/{deal.deal_id}",
    ]
