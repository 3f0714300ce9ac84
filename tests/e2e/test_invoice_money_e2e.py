"""Issue 16, money: the Xero invoice equals HubSpot's line amounts to the cent, whatever the discount or precision.

One devhost (the defaults: Exclusive, tax type OUTPUT at the simulator's 15 %) runs the cases; a second one
with ``AMOUNT_MISMATCH=refuse`` and ``INVOICE_LINE_AMOUNT_TYPES=Inclusive`` runs the inclusive case and the
refusal. The Xero simulator applies Xero's own arithmetic (simulators/xero/money.py): a unit price sent
without ``unitdp=4`` is cut to 2 decimals, exactly as real Xero does.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from azure.data.tables import TableServiceClient

from devhost.testing import DevHostProcess
from shared.connectors.hubspot import HubSpotClient
from shared.ledger.table_ledger import TableLedger
from simulators.testing import SimulatorsProcess
from tests.e2e.conftest import _FIRST_IDS, FAST_APP_LIMITS, FAST_HUBSPOT_SIM, FAST_XERO_SIM, TOKEN, Stack, module_host
from tests.e2e.saga_helpers import deal_props, invoices, ledger_row
from tests.support.azurite import Azurite

CASES: dict[str, tuple[str, list[dict[str, str]]]] = {
    # name: (currency, HubSpot line items' properties)
    "per-unit discount": ("EUR", [{"name": "Licence", "quantity": "2", "price": "1000", "discount": "250"}]),
    "discount rate": ("EUR", [{"name": "Seats", "quantity": "3", "price": "199.99", "hs_discount_percentage": "15"},
                              {"name": "Setup", "quantity": "1", "price": "80.10"}]),
    "4-decimal price": ("USD", [{"name": "Metered units", "quantity": "3", "price": "12.3456"}]),
    "5-decimal price": ("USD", [{"name": "Tokens", "quantity": "3", "price": "12.34567"}]),
    "yen": ("JPY", [{"name": "Support plan", "quantity": "3", "price": "1234", "hs_discount_percentage": "10"}]),
}
STRICT = {"AMOUNT_MISMATCH": "refuse", "INVOICE_LINE_AMOUNT_TYPES": "Inclusive"}


def _create(client: httpx.Client, kind: str, properties: dict[str, str], to: list[tuple[str, str, int]]) -> str:
    body: dict[str, Any] = {"properties": properties, "associations": [
        {"to": {"id": i}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}]}
        for _, i, t in to]}
    response = client.post(f"/crm/objects/2026-09/{kind}", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def won_deal(stack: Stack, currency: str, lines: list[dict[str, str]], amount: str | None = None) -> str:
    """A won deal with these line items; its amount is the sum of HubSpot's line amounts unless given."""
    with httpx.Client(base_url=stack.sims.hubspot_url, headers={"Authorization": "Bearer t"}, timeout=10) as client:
        company = _create(client, "companies", {"name": f"Money {currency} {len(lines)}"}, [])
        items = [_create(client, "line_items", props, []) for props in lines]
        hubspot = stack.sims.hubspot.state()["objects"]["line_items"]
        total = sum((Decimal(hubspot[i]["properties"]["amount"]) for i in items), Decimal(0))
        return _create(client, "deals", {"dealname": "Money case", "dealstage": "closedwon", "pipeline": "default",
                                         "deal_currency_code": currency, "amount": amount or str(total)},
                       [("companies", company, 5)] + [("line_items", i, 19) for i in items])


def hubspot_line_amounts(stack: Stack, deal_id: str, places: int) -> list[Decimal]:
    """HubSpot's own amount of each of the deal's line items, rounded to the currency's minor unit."""
    state = stack.sims.hubspot.state()
    ids = [a["to_id"] for a in state["associations"] if a["from_id"] == deal_id and a["to_type"] == "line_items"]
    items = state["objects"]["line_items"]
    quantum = Decimal(1).scaleb(-places)
    return [Decimal(items[i]["properties"]["amount"]).quantize(quantum, ROUND_HALF_UP) for i in ids]


def the_invoice(stack: Stack, deal_id: str) -> dict[str, Any]:
    found = [i for i in invoices(stack) if i["Reference"] == f"Deal {deal_id}"]
    assert len(found) == 1, found
    return found[0]


stack_host = module_host(FAST_APP_LIMITS)


strict_host = module_host({**FAST_APP_LIMITS, **STRICT})


@pytest.fixture
def strict_stack(strict_host: tuple[DevHostProcess, dict[str, str]], simulators: SimulatorsProcess,
                 azurite: Azurite) -> Stack:
    host, settings = strict_host
    simulators.reset()
    with HubSpotClient(simulators.hubspot_url, TOKEN, requests_per_10s=None) as crm:
        crm.ensure_app_properties()
    simulators.hubspot.config(first_id=next(_FIRST_IDS), **FAST_HUBSPOT_SIM)
    simulators.xero.config(**FAST_XERO_SIM)
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    return Stack(host, simulators, TableLedger(service, settings["LEDGER_TABLE_NAME"]), settings)


@pytest.mark.e2e
def test_each_invoice_equals_hubspots_line_amounts_to_the_cent(fast_stack: Stack) -> None:
    stack = fast_stack
    deals = {name: won_deal(stack, currency, lines) for name, (currency, lines) in CASES.items()}
    expected = {"per-unit discount": "1500.00", "discount rate": "590.07", "4-decimal price": "37.04",
                "5-decimal price": "37.04", "yen": "3332.00"}
    for name, deal_id in deals.items():
        outcome = stack.run_deal(deal_id)["output"]
        assert outcome["status"] == "completed", (name, outcome)
        invoice = the_invoice(stack, deal_id)
        places = 0 if CASES[name][0] == "JPY" else 2
        hubspot = hubspot_line_amounts(stack, deal_id, places)
        assert [Decimal(str(line["LineAmount"])) for line in invoice["LineItems"]] == hubspot, name
        assert Decimal(str(invoice["SubTotal"])) == sum(hubspot) == Decimal(expected[name]), (name, invoice)
        tax = sum((Decimal(str(line["TaxAmount"])) for line in invoice["LineItems"]), Decimal(0))
        assert Decimal(str(invoice["Total"])) == Decimal(str(invoice["SubTotal"])) + tax, name
        row = ledger_row(stack, deal_id)
        assert Decimal(row["amount"]) == sum(hubspot) and Decimal(row["amount_difference"] or "0") == 0, (name, row)
    # 3 x 12.3456 went to Xero with unitdp=4: sent with 2 decimals Xero would have made it 3 x 12.35 = 37.05.
    metered = the_invoice(stack, deals["4-decimal price"])["LineItems"][0]
    assert Decimal(str(metered["UnitAmount"])) == Decimal("12.3456")
    tokens = the_invoice(stack, deals["5-decimal price"])["LineItems"][0]
    assert Decimal(str(tokens["UnitAmount"])) == Decimal("12.3457")


@pytest.mark.e2e
def test_a_deal_amount_that_disagrees_with_its_lines_is_invoiced_and_the_difference_recorded(fast_stack: Stack) -> None:
    stack = fast_stack
    deal_id = won_deal(stack, "EUR", CASES["per-unit discount"][1], amount="2000")
    assert stack.run_deal(deal_id)["output"]["status"] == "completed"
    assert Decimal(str(the_invoice(stack, deal_id)["SubTotal"])) == Decimal("1500.00")
    row = ledger_row(stack, deal_id)
    assert (row["amount"], row["deal_amount"], row["amount_difference"]) == ("1500.00", "2000.00", "-500.00"), row
    exists, state = stack.client.read_entity("sync_transaction", f"deal-{deal_id}")
    assert exists and (state["deal_amount"], state["amount_difference"]) == ("2000.00", "-500.00"), state


@pytest.mark.e2e
def test_inclusive_prices_are_invoiced_at_hubspots_line_amounts(strict_stack: Stack) -> None:
    stack = strict_stack
    deal_id = won_deal(stack, "EUR", CASES["discount rate"][1])
    assert stack.run_deal(deal_id)["output"]["status"] == "completed"
    invoice = the_invoice(stack, deal_id)
    assert invoice["LineAmountTypes"] == "Inclusive"
    assert Decimal(str(invoice["Total"])) == sum(hubspot_line_amounts(stack, deal_id, 2)) == Decimal("590.07")
    assert Decimal(str(invoice["SubTotal"])) + Decimal(str(invoice["TotalTax"])) == Decimal("590.07")


@pytest.mark.e2e
def test_with_refuse_a_disagreeing_deal_amount_is_refused_naming_both_figures(strict_stack: Stack) -> None:
    stack = strict_stack
    deal_id = won_deal(stack, "EUR", CASES["per-unit discount"][1], amount="2000")
    outcome = stack.run_deal(deal_id)["output"]
    assert (outcome["status"], outcome["failed_step"]) == ("compensated", "load"), outcome
    assert outcome["reason"]["code"] == "amount_mismatch", outcome["reason"]
    assert "2000.00" in outcome["reason"]["message"] and "1500.00" in outcome["reason"]["message"]
    assert invoices(stack) == []
    assert deal_props(stack, deal_id).get("invoice_sync_status") in (None, "")
