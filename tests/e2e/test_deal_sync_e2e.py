"""The deal-to-invoice saga end to end: devhost running the unmodified app, Azurite, HubSpot and Xero simulators."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import Stack
from tests.support.crm_data import create_won_deal


def xero_invoices(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.sims.xero.state()["invoices"])


def deal_props(stack: Stack, deal_id: str) -> dict[str, Any]:
    return dict(stack.sims.hubspot.state()["objects"]["deals"][deal_id]["properties"])


@pytest.mark.e2e
def test_won_deal_becomes_exactly_one_authorised_invoice_and_is_written_back(stack: Stack) -> None:
    deal = create_won_deal(stack.sims.hubspot_url, currency="EUR", terms_days=14, close_date="2026-11-02")
    stack.sims.hubspot.clear_requests()
    status = stack.run_deal(deal.deal_id)

    assert status["runtimeStatus"] == "Completed", status
    # HubSpot: one read of the deal with its lines, company and contact (GraphQL), the claim, the write-back.
    assert [f"{r['method']} {r['path']}" for r in stack.sims.hubspot.requests()] == [
        "POST /collector/graphql", f"PATCH /crm/objects/2026-09/deals/{deal.deal_id}",
        f"PATCH /crm/objects/2026-09/deals/{deal.deal_id}"]
    [contact] = stack.sims.xero.state()["contacts"]
    assert (contact["Name"], contact["EmailAddress"]) == ("Northwind Traders", "nancy@northwind.example")
    assert status["output"]["status"] == "completed"
    invoices = xero_invoices(stack)
    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice["Status"] == "AUTHORISED" and invoice["Type"] == "ACCREC"
    assert invoice["Contact"]["Name"] == "Northwind Traders"
    assert invoice["CurrencyCode"] == "EUR"
    assert invoice["Reference"] == f"Deal {deal.deal_id}"
    assert str(invoice["DueDate"]).startswith("2026-11-16") or "2026-11-16" in str(invoice.get("DueDateString"))
    lines = [(li["Description"], Decimal(str(li["Quantity"])), Decimal(str(li["UnitAmount"])))
             for li in invoice["LineItems"]]
    assert lines == [("Annual licence", Decimal(2), Decimal("1200.00")),
                     ("Onboarding workshop", Decimal(1), Decimal("850.50"))]
    assert Decimal(str(invoice["SubTotal"])) == deal.total

    props = deal_props(stack, deal.deal_id)
    assert props["invoice_sync_status"] == "synced"
    assert props["xero_invoice_id"] == invoice["InvoiceID"]
    assert props["xero_invoice_number"] == invoice["InvoiceNumber"]
    assert props["invoice_sync_transaction_id"] == f"deal-{deal.deal_id}"

    rows = stack.ledger_rows(deal.deal_id)
    assert [r["status"] for r in rows] == ["completed"]
    full = stack.ledger.get(rows[0]["id"], rows[0]["started_at"])
    assert full is not None
    assert [(s["name"], s["status"]) for s in full["steps"]] == [
        ("load", "succeeded"), ("claim", "succeeded"), ("customer", "succeeded"), ("invoice", "succeeded"),
        ("write_back", "succeeded")]
    assert rows[0]["invoice_id"] == invoice["InvoiceID"]
