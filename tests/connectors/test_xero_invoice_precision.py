"""Unit prices and discounts on the wire: what the connector sends is what Xero keeps (the spec checks each call)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.connectors.xero import XeroClient
from shared.domain.invoice_mapping import MappingRules, build_invoice, lines_total
from shared.domain.models import Customer, Deal, LineItem
from simulators.testing import SimulatorsProcess

INVOICES = "/api.xro/2.0/Invoices"


def invoice_for(xero: XeroClient, key: str, *items: LineItem, currency: str = "USD") -> tuple[Decimal, Decimal]:
    customer = xero.create_customer(Customer(external_id=f"c-{key}", name=f"Precision {key}"), f"cust-{key}").id
    deal = Deal(id=key, name="Precision", stage="closedwon", currency=currency)
    draft = build_invoice(deal, items, customer, date(2026, 11, 2), MappingRules(tax_type="NONE"))
    ref = xero.create_invoice(draft, f"inv-{key}")
    assert ref.total is not None
    return ref.total, lines_total(draft.lines)


def sent_query(sims: SimulatorsProcess) -> list[dict[str, str]]:
    return [r["query"] for r in sims.xero.requests() if r["method"] == "PUT" and r["path"] == INVOICES]


def test_a_four_decimal_unit_price_is_sent_with_unitdp_4_and_invoiced_to_the_cent(
        xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    total, computed = invoice_for(xero, "p4", LineItem(id="1", name="Metered", quantity=Decimal(3),
                                                        unit_price=Decimal("12.3456")))
    assert total == computed == Decimal("37.04")  # 3 x 12.35 = 37.05 without unitdp=4
    assert sent_query(xero_sim)[-1].get("unitdp") == "4"


def test_two_decimal_prices_are_sent_without_unitdp(xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    total, computed = invoice_for(xero, "p2", LineItem(id="1", name="Seats", quantity=Decimal(2),
                                                        unit_price=Decimal("19.90")))
    assert total == computed == Decimal("39.80")
    assert "unitdp" not in sent_query(xero_sim)[-1]


def test_a_per_unit_discount_is_sent_as_the_lines_discount_amount(
        xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    total, computed = invoice_for(xero, "d1", LineItem(id="1", name="Licence", quantity=Decimal(2),
                                                        unit_price=Decimal(1000), discount_per_unit=Decimal(250)))
    assert total == computed == Decimal("1500.00")
    body = next(r for r in reversed(xero_sim.xero.requests()) if r["method"] == "PUT" and r["path"] == INVOICES)
    assert '"DiscountAmount":500.00' in body["body_text"] and "DiscountRate" not in body["body_text"]


def test_a_yen_invoice_with_a_discount_rate_comes_to_whole_yen(xero: XeroClient) -> None:
    total, computed = invoice_for(xero, "y1", LineItem(id="1", name="Plan", quantity=Decimal(3),
                                                        unit_price=Decimal(1234), discount=Decimal(10)),
                                  currency="JPY")
    assert total == computed == Decimal("3332.00")  # 3,331.80 had the 10 % been sent as a rate
