"""HubSpot's string properties are parsed strictly; bad data is a rejection that names the property."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.connectors import jsonwire
from shared.connectors.hubspot_mapping import to_deal, to_line_item
from shared.connectors.hubspot_models import HubSpotObject
from shared.domain.errors import BusinessRejection


def deal(**props: str | None) -> HubSpotObject:
    return HubSpotObject(id="77", properties={"dealname": "D", "dealstage": "closedwon", **props})


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("amount", "abc"),
        ("amount", "NaN"),
        ("amount", "1,000.00"),
        ("closedate", "next week"),
        ("deal_currency_code", "dollars"),
        ("payment_terms_days", "30.5"),
        ("payment_terms_days", "-1"),
        ("hs_lastmodifieddate", "yesterday"),
    ],
)
def test_unreadable_deal_property_is_rejected_naming_it(prop: str, value: str) -> None:
    with pytest.raises(BusinessRejection) as caught:
        to_deal(deal(**{prop: value}))
    assert caught.value.details == {"object": "deal", "id": "77", "property": prop}
    assert f"property {prop}" in caught.value.message


def test_missing_stage_is_rejected() -> None:
    with pytest.raises(BusinessRejection, match="dealstage"):
        to_deal(HubSpotObject(id="1", properties={"dealname": "x"}))


def test_valid_deal_properties_parse_exactly() -> None:
    parsed = to_deal(
        deal(
            amount="1234.50",
            closedate="2025-03-04T10:00:00.000Z",
            deal_currency_code="GBP",
            payment_terms_days="30.0",
            hs_lastmodifieddate="1741082400000",
            invoice_sync_status="synced",
        )
    )
    assert parsed.amount == Decimal("1234.50") and parsed.close_date == date(2025, 3, 4)
    assert parsed.payment_terms_days == 30 and parsed.currency == "GBP"
    assert parsed.last_modified == datetime(2025, 3, 4, 10, 0, tzinfo=UTC)
    assert parsed.markers.sync_status == "synced"
    empty = to_deal(deal(amount="", closedate=None))
    assert empty.amount is None and empty.close_date is None


@pytest.mark.parametrize(
    ("prop", "value"),
    [("quantity", "0"), ("quantity", "two"), ("price", "-1"), ("hs_discount_percentage", "150")],
)
def test_unreadable_line_item_is_rejected_naming_the_property(prop: str, value: str) -> None:
    props = {"name": "x", "quantity": "1", "price": "10", prop: value}
    with pytest.raises(BusinessRejection) as caught:
        to_line_item(HubSpotObject(id="9", properties=props))
    assert caught.value.details["property"] == prop


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**12), max_value=10**12))
def test_amounts_cross_the_wire_with_every_digit(amount: Decimal) -> None:
    assert to_deal(deal(amount=str(amount))).amount == amount
    assert jsonwire.loads(jsonwire.dumps({"a": amount}))["a"] == amount


@pytest.mark.parametrize(("stored", "read"), [("eur", "EUR"), (" EUR ", "EUR"), ("Gbp", "GBP"), ("usd\n", "USD")])
def test_a_currency_stored_in_lower_case_or_padded_is_read_as_its_iso_code(stored: str, read: str) -> None:
    assert to_deal(deal(deal_currency_code=stored)).currency == read


@pytest.mark.parametrize(("prop", "stored", "attr", "read"), [
    ("amount", " 1500 ", "amount", Decimal("1500")),
    ("amount", "1500.0", "amount", Decimal("1500.0")),
    ("amount", "\u00a01500.00\t", "amount", Decimal("1500.00")),
    ("payment_terms_days", "30.0", "payment_terms_days", 30),
    ("payment_terms_days", " 14 ", "payment_terms_days", 14),
    ("closedate", " 2026-03-04 ", "close_date", date(2026, 3, 4)),
])
def test_numbers_and_dates_with_spaces_or_a_trailing_point_zero_are_read(
    prop: str, stored: str, attr: str, read: object,
) -> None:
    assert getattr(to_deal(deal(**{prop: stored})), attr) == read


def test_a_line_item_quantity_of_one_point_zero_with_spaces_is_read() -> None:
    item = to_line_item(HubSpotObject(id="9", properties={"name": "x", "quantity": " 2.0 ", "price": "10.50 "}))
    assert (item.quantity, item.unit_price) == (Decimal("2.0"), Decimal("10.50"))


@pytest.mark.parametrize("stored", ["euro", "E U R", "€", "12A"])
def test_a_currency_that_is_no_code_stays_a_rejection_naming_deal_property_and_value(stored: str) -> None:
    with pytest.raises(BusinessRejection) as caught:
        to_deal(deal(deal_currency_code=stored, hs_lastmodifieddate="2026-12-01T10:00:00Z"))
    assert caught.value.details == {"object": "deal", "id": "77", "property": "deal_currency_code",
                                    "modified": "2026-12-01T10:00:00Z"}
    assert caught.value.message == f"deal 77: property deal_currency_code is not an ISO 4217 currency code " \
                                   f"(value {stored!r})"
