"""The simulators' command line, demo data and spec conformance of their Xero answers."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.connectors.hubspot import HubSpotClient
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import make_xero
from tests.support.xero_spec import XeroSpecValidator, spec_problems


def test_demo_seed_serves_realistic_deals_in_four_currencies() -> None:
    with SimulatorsProcess(["--seed", "demo", "--hubspot-token", "demo-token"]) as sp:
        state = sp.hubspot.state()
        deals = state["objects"]["deals"]
        assert len(deals) == 20
        assert {d["properties"]["deal_currency_code"] for d in deals.values()} == {"USD", "EUR", "GBP", "AUD"}
        won = [i for i, d in deals.items() if d["properties"]["dealstage"] == "closedwon"]
        assert 4 <= len(won) < 20
        with HubSpotClient(sp.hubspot_url, "demo-token") as client:
            found = client.search_deals(datetime(2025, 1, 1, tzinfo=UTC), "closedwon")
            assert found.next_after is None and sorted(d.id for d in found.deals) == sorted(won)
            first = client.get_deal(won[0])
            assert first.amount is not None and first.line_item_ids and first.company_ids
            assert len(client.get_line_items(first.line_item_ids)) == len(first.line_item_ids)
        with make_xero(sp) as xero:
            assert [c.name for c in xero.find_customers_named("Northwind Traders")] == ["Northwind Traders"]
            assert [r.reference for r in xero.find_invoices_by_reference("manual-2025-001")] == [
                "manual-2025-001"
            ]
        assert spec_problems(sp.xero.requests()) == []
    # The same seed gives the same data.
    with SimulatorsProcess(["--seed", "demo"]) as again:
        assert again.hubspot.state()["objects"]["deals"] == deals


def test_spec_check_finds_a_response_that_breaks_the_schema(xero_spec: XeroSpecValidator) -> None:
    problems = xero_spec.check_exchange(
        "GET",
        "/api.xro/2.0/Invoices/0b1c6d22-7f4e-4f44-9b7a-8f3a2e1d0c9b",
        {},
        {"xero-tenant-id": "t"},
        "",
        200,
        '{"Invoices": [{"Total": "lots"}]}',
        {"Content-Type": "application/json"},
    )
    assert problems and "lots" in problems[0]
    assert xero_spec.check_exchange(
        "PUT",
        "/api.xro/2.0/Invoices",
        {},
        {"xero-tenant-id": "t", "Content-Type": "application/json"},
        '{"Invoices": [{"Type": "NOPE"}]}',
        None,
        "",
        {},
    )


def test_reset_clears_data_faults_and_log(sims: SimulatorsProcess) -> None:
    sims.xero.seed("demo")
    sims.xero.add_fault("/api.xro/2.0/Invoices", 503, times=-1)
    sims.xero.reset()
    state = sims.xero.state()
    assert state["invoices"] == [] and state["contacts"] == []
    assert sims.xero._call("GET", "/_sim/faults") == {"faults": []}
