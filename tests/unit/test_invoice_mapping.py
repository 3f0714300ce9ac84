"""Invoice mapping rules: what a won deal becomes in accounting."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.domain.errors import BusinessRejection
from shared.domain.invoice_mapping import MappingRules, build_invoice, lines_total, reference_for
from shared.domain.models import Deal, LineItem

RULES = MappingRules(account_code="200", tax_type="OUTPUT", default_currency="USD", default_payment_terms_days=30)
TODAY = date(2026, 11, 23)


def deal(**kw: object) -> Deal:
    base: dict[str, object] = {"id": "9001", "name": "Acme renewal", "stage": "closedwon"}
    base.update(kw)
    return Deal.model_validate(base)


def item(i: int, qty: str, price: str, **kw: object) -> LineItem:
    return LineItem.model_validate({"id": f"li{i}", "name": f"Seat pack {i}", "quantity": qty,
                                    "unit_price": price, **kw})


def test_line_items_become_invoice_lines_with_exact_amounts() -> None:
    items = (item(1, "3", "19.99", sku="SEAT-10"), item(2, "1.5", "100.10"))
    draft = build_invoice(deal(currency="EUR"), items, "C-1", TODAY, RULES)
    assert [(line.description, line.quantity, line.unit_amount) for line in draft.lines] == [
        ("Seat pack 1 (SEAT-10)", Decimal("3"), Decimal("19.99")),
        ("Seat pack 2", Decimal("1.5"), Decimal("100.10")),
    ]
    assert lines_total(draft.lines) == Decimal("210.12")  # 59.97 + 150.15, no float drift
    assert all(line.account_code == "200" and line.tax_type == "OUTPUT" for line in draft.lines)
    assert draft.currency == "EUR" and draft.customer_id == "C-1"


def test_reference_carries_the_deal_id() -> None:
    assert build_invoice(deal(), (item(1, "1", "5"),), "C", TODAY, RULES).reference == reference_for("9001")
    assert "9001" in reference_for("9001")


def test_due_date_follows_the_deals_payment_terms_from_the_close_date() -> None:
    draft = build_invoice(deal(close_date="2026-11-02", payment_terms_days=14), (item(1, "1", "5"),), "C",
                          TODAY, RULES)
    assert (draft.issue_date, draft.due_date) == (date(2026, 11, 2), date(2026, 11, 16))


def test_without_terms_or_close_date_the_defaults_apply() -> None:
    draft = build_invoice(deal(), (item(1, "1", "5"),), "C", TODAY, RULES)
    assert (draft.issue_date, draft.due_date) == (TODAY, date(2026, 12, 23))
    assert draft.currency == "USD"


def test_a_deal_without_line_items_is_invoiced_as_one_line_of_its_amount() -> None:
    draft = build_invoice(deal(amount="1250.00"), (), "C", TODAY, RULES)
    assert [(line.description, line.quantity, line.unit_amount) for line in draft.lines] == [
        ("Acme renewal", Decimal(1), Decimal("1250.00"))]


def test_discounts_reduce_the_total() -> None:
    draft = build_invoice(deal(), (item(1, "2", "50", discount="10"),), "C", TODAY, RULES)
    assert draft.lines[0].discount_rate == Decimal("10")
    assert lines_total(draft.lines) == Decimal("90.00")


@pytest.mark.parametrize(
    ("kw", "items", "message"),
    [
        ({}, (), "no line items and no positive amount"),
        ({"amount": "0"}, (), "no line items and no positive amount"),
        ({"currency": "EURO"}, None, "not an ISO 4217 code"),
        ({"payment_terms_days": 400}, None, "outside 0..365"),
        ({}, (LineItem(id="x", name="Big", quantity=Decimal(1), unit_price=Decimal("20000000")),), "exceeds"),
        ({}, (LineItem(id="x", name="Free", quantity=Decimal(1), unit_price=Decimal(0)),), "total would be 0"),
    ],
)
def test_bad_deal_data_is_a_business_rejection_naming_the_problem(kw: dict[str, object],
                                                                  items: tuple[LineItem, ...] | None,
                                                                  message: str) -> None:
    with pytest.raises(BusinessRejection, match=message) as info:
        build_invoice(deal(**kw), items if items is not None else (item(1, "1", "5"),), "C", TODAY, RULES)
    assert "9001" in info.value.message
