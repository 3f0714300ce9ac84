"""Invoice money as Xero computes it: worked examples of lines, discounts, precision, tax and totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.connectors.hubspot_mapping import to_line_item
from shared.connectors.hubspot_models import HubSpotObject
from shared.domain.amount_check import check_amount
from shared.domain.errors import BusinessRejection
from shared.domain.invoice_mapping import MappingRules, build_invoice, lines_total
from shared.domain.models import Deal, LineItem
from shared.domain.money import amount_places, minor_unit, price_line, totals, unit_price, unitdp
from simulators.xero.money import line_money

D = Decimal
RATE = D("0.15")


def test_a_per_unit_discount_is_taken_off_every_unit_and_sent_as_the_lines_discount_amount() -> None:
    line = price_line(D(2), D(1000), "EUR", discount_per_unit=D(250))
    assert (line.line_amount, line.discount_amount, line.discount_rate) == (D("1500.00"), D("500.00"), None)


def test_a_discount_rate_is_sent_as_it_is_and_the_line_rounded_to_the_cent() -> None:
    line = price_line(D(3), D("199.99"), "EUR", discount_percent=D(15))  # 599.97 x 0.85 = 509.9745
    assert (line.line_amount, line.discount_rate, line.discount_amount) == (D("509.97"), D(15), None)


def test_a_rate_with_more_decimals_than_xero_keeps_becomes_the_same_discount_as_an_amount() -> None:
    line = price_line(D(3), D(100), "EUR", discount_percent=D("33.333"))  # 300 x 0.66667 = 200.001
    assert (line.line_amount, line.discount_rate, line.discount_amount) == (D("200.00"), None, D("100.00"))


def test_a_four_decimal_price_needs_unitdp_4_and_gives_37_04_not_37_05() -> None:
    line = price_line(D(3), D("12.3456"), "USD")
    assert (line.unit_amount, line.line_amount) == (D("12.3456"), D("37.04"))
    assert unitdp([line.unit_amount]) == 4
    assert line_money(D(3), D("12.3456"), unitdp=2, rate=D(0), line_amount_types="NoTax").line_amount == D("37.05")


def test_a_five_decimal_price_is_rounded_half_up_to_four_never_refused() -> None:
    line = price_line(D(3), D("12.34565"), "USD")
    assert (line.unit_amount, line.line_amount) == (D("12.3457"), D("37.04"))
    assert unit_price(D("12.34564")) == D("12.3456")


def test_two_decimal_prices_need_no_unitdp() -> None:
    assert unitdp([unit_price(D("19.9")), unit_price(D(1000)), unit_price(D("12.3400"))]) == 2
    assert str(unit_price(D(1000))) == "1000.00"


def test_exclusive_tax_is_rounded_per_line_then_summed() -> None:
    # Xero's own example: 25.06, 25.61, 25.63 at 15 %: tax 3.76 + 3.84 + 3.84 = 11.44, not 15 % of 76.30 = 11.45.
    lines = [price_line(D(1), D(p), "NZD", tax_rate=RATE) for p in ("25.06", "25.61", "25.63")]
    assert [x.tax_amount for x in lines] == [D("3.76"), D("3.84"), D("3.84")]
    result = totals(lines, "Exclusive")
    assert (result.sub_total, result.total_tax, result.total) == (D("76.30"), D("11.44"), D("87.74"))


def test_inclusive_prices_carry_their_tax_inside_the_line_amount() -> None:
    lines = [price_line(D(1), D("115.00"), "NZD", tax_rate=RATE, line_amount_types="Inclusive"),
             price_line(D(3), D("10.00"), "NZD", tax_rate=RATE, line_amount_types="Inclusive")]
    assert [x.tax_amount for x in lines] == [D("15.00"), D("3.91")]  # 30 x 0.15 / 1.15 = 3.913
    result = totals(lines, "Inclusive")
    assert (result.sub_total, result.total_tax, result.total) == (D("126.09"), D("18.91"), D("145.00"))


def test_no_tax_lines_have_no_tax() -> None:
    result = totals([price_line(D(2), D("9.99"), "USD", tax_rate=RATE, line_amount_types="NoTax")], "NoTax")
    assert (result.total_tax, result.total) == (D("0.00"), D("19.98"))


def test_a_yen_line_comes_to_whole_yen_through_a_discount_amount() -> None:
    line = price_line(D(3), D(1234), "JPY", discount_percent=D(10))  # 3,331.80 as a rate
    assert (line.line_amount, line.discount_rate, line.discount_amount) == (D("3332.00"), None, D("370.00"))
    # Xero, sent this line, computes the same whole amount.
    assert line_money(D(3), D(1234), unitdp=2, rate=D(0), line_amount_types="NoTax",
                      discount_amount=line.discount_amount).line_amount == D("3332.00")


def test_minor_units_follow_iso_4217_and_xero_keeps_two_decimals_at_most() -> None:
    assert [minor_unit(c) for c in ("JPY", "EUR", "KWD", "BHD")] == [0, 2, 3, 3]
    assert [amount_places(c) for c in ("JPY", "EUR", "KWD")] == [0, 2, 2]


def test_the_simulator_keeps_xeros_own_arithmetic_for_discount_amount_and_rate() -> None:
    assert line_money(D(2), D(1000), unitdp=2, rate=RATE, line_amount_types="Exclusive",
                      discount_amount=D(500)).tax == D("225.00")
    assert line_money(D(3), D("199.99"), unitdp=2, rate=D(0), line_amount_types="Exclusive",
                      discount_rate=D(15)).line_amount == D("509.97")


# --- HubSpot's line items to invoice lines ---

def hubspot_item(**props: str) -> LineItem:
    return to_line_item(HubSpotObject.model_validate({"id": "77", "properties": props}))


def deal(**kw: object) -> Deal:
    return Deal.model_validate({"id": "9001", "name": "Money", "stage": "closedwon", "currency": "EUR", **kw})


RULES = MappingRules()
TODAY = date(2026, 11, 23)


def test_hubspots_discount_per_unit_is_read_and_invoiced() -> None:
    item = hubspot_item(name="Licence", quantity="2", price="1000", discount="250", amount="1500",
                        hs_line_item_currency_code="EUR")
    assert (item.discount_per_unit, item.amount, item.currency) == (D(250), D(1500), "EUR")
    assert lines_total(build_invoice(deal(), (item,), "C", TODAY, RULES).lines) == D("1500.00")


@pytest.mark.parametrize(("props", "words"), [
    ({"discount": "250", "hs_discount_percentage": "10"}, "both a discount per unit"),
    ({"discount": "1200"}, "exceeds its price"),
    ({"quantity": "1.00001"}, "4 decimals at most"),
    ({"hs_line_item_currency_code": "USD"}, "is in USD, the deal in EUR"),
])
def test_a_line_that_cannot_be_invoiced_exactly_is_refused_naming_the_line(props: dict[str, str], words: str) -> None:
    item = hubspot_item(**{"name": "Licence", "quantity": "2", "price": "1000", **props})
    with pytest.raises(BusinessRejection, match=words) as caught:
        build_invoice(deal(), (item,), "C", TODAY, RULES)
    assert "line item 77" in str(caught.value)


def test_a_negative_hubspot_discount_is_bad_data() -> None:
    with pytest.raises(BusinessRejection, match="discount"):
        hubspot_item(name="x", quantity="1", price="10", discount="-1")


# --- the invoice against HubSpot's deal amount ---

def test_matching_amounts_record_no_difference() -> None:
    check = check_amount(deal(amount="37.0368"), D("37.04"), "USD", mode="refuse", tolerance=D(0))
    assert (check.deal_amount, check.invoice_total, check.difference, check.beyond_tolerance) == (
        "37.04", "37.04", "0.00", False)


def test_by_default_a_difference_is_recorded_and_the_deal_invoiced() -> None:
    check = check_amount(deal(amount="2000"), D("1500.00"), "EUR", mode="record", tolerance=D(0))
    assert (check.deal_amount, check.difference, check.beyond_tolerance) == ("2000.00", "-500.00", True)


def test_refuse_names_both_figures_beyond_the_tolerance_only() -> None:
    assert not check_amount(deal(amount="1500.01"), D("1500.00"), "EUR", mode="refuse",
                            tolerance=D("0.01")).beyond_tolerance
    with pytest.raises(BusinessRejection) as caught:
        check_amount(deal(amount="1500.02"), D("1500.00"), "EUR", mode="refuse", tolerance=D("0.01"))
    assert caught.value.code == "amount_mismatch"
    assert "1500.00 EUR" in str(caught.value) and "1500.02 EUR" in str(caught.value)


def test_a_deal_without_an_amount_has_nothing_to_compare() -> None:
    check = check_amount(deal(), D("10.00"), "EUR", mode="refuse", tolerance=D(0))
    assert (check.deal_amount, check.difference) == ("", "")


def test_a_yen_deal_amount_is_compared_in_whole_yen() -> None:
    check = check_amount(deal(amount="3331.8", currency="JPY"), D("3332.00"), "JPY", mode="refuse", tolerance=D(0))
    assert check.difference == "0.00"
