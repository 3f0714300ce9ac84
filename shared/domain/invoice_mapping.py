"""Mapping rules from a won deal to a sales invoice: currency, dates, lines, account and tax codes.

Plain functions driven by ``MappingRules`` (built from settings), so that every rule is unit-tested
and bad deal data is refused with a message naming the field *before* anything is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from shared.domain.errors import BusinessRejection
from shared.domain.line_codes import choose_line_codes
from shared.domain.mapping_file import InvoiceMapping
from shared.domain.models import Deal, InvoiceDraft, InvoiceLine, LineItem
from shared.domain.money import price_line, xero_line_amount

CENT = Decimal("0.01")


@dataclass(frozen=True)
class MappingRules:
    account_code: str = "200"
    tax_type: str | None = "OUTPUT"
    line_amount_types: str = "Exclusive"
    status: str = "AUTHORISED"
    default_currency: str = "USD"
    default_payment_terms_days: int = 30
    max_total: Decimal = Decimal("10000000")
    # The sanity window for the invoice date: a close date further back or ahead than this is a typo or a
    # forgotten estimate, not the day of the sale. "today" dates such an invoice today; "reject" refuses it.
    date_max_age_days: int = 365
    date_max_ahead_days: int = 1
    date_out_of_range: Literal["today", "reject"] = "today"
    # A customer name the accounting system already gives another customer: "disambiguate" creates
    # "<name> (HubSpot <company id>)"; "reject" rolls the deal back saying so.
    customer_name_collision: Literal["disambiguate", "reject"] = "disambiguate"
    # The invoice's line total against the CRM deal's amount: "record" invoices the lines and records the
    # difference on the transaction; "refuse" rolls the deal back naming both, when beyond the tolerance.
    amount_mismatch: Literal["record", "refuse"] = "record"
    amount_tolerance: Decimal = Decimal("0")
    # The finance team's INVOICE_MAPPING (codes per product, tax group, tracking, branding theme); when it
    # cannot be read, ``invalid`` says why and every deal is refused at load.
    mapping: InvoiceMapping = field(default_factory=InvoiceMapping)
    invalid: str = ""
    # What the organisation offers, once read (shared.sync.org_check): its item codes, the theme's id.
    org_items: frozenset[str] | None = None
    branding_theme_id: str | None = None


def reference_for(deal_id: str) -> str:
    """The invoice reference carrying the CRM deal id: how an invoice is found again from its deal."""
    return f"Deal {deal_id}"


def invoice_currency(deal: Deal, rules: MappingRules) -> str:
    currency = (deal.currency or rules.default_currency).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise _reject(deal, f"deal currency {currency!r} is not an ISO 4217 code")
    return currency


def issue_date(deal: Deal, today: date, rules: MappingRules | None = None) -> date:
    """The close date when the CRM has one (the day the sale happened) and it lies in the sanity window,
    else today; out of the window with ``date_out_of_range="reject"``, a rejection naming the date."""
    close = deal.close_date
    if close is None:
        return today
    rules = rules or MappingRules()
    earliest = today - timedelta(days=rules.date_max_age_days)
    latest = today + timedelta(days=rules.date_max_ahead_days)
    if earliest <= close <= latest:
        return close
    if rules.date_out_of_range == "reject":
        raise BusinessRejection(
            f"deal {deal.id}: its close date {close.isoformat()} lies outside the invoice date window "
            f"({earliest.isoformat()} to {latest.isoformat()}); correct the close date in the CRM, then retry",
            service="sync", code="invoice_date_out_of_range")
    return today


def due_date(deal: Deal, issued: date, rules: MappingRules) -> date:
    terms = deal.payment_terms_days if deal.payment_terms_days is not None else rules.default_payment_terms_days
    if terms < 0 or terms > 365:
        raise _reject(deal, f"payment terms of {terms} days are outside 0..365")
    return issued + timedelta(days=terms)


def line_description(item: LineItem) -> str:
    text = item.name.strip() or "Item"
    if item.description and item.description.strip() and item.description.strip() != text:
        text = f"{text}: {item.description.strip()}"
    if item.sku:
        text = f"{text} ({item.sku})"
    return text[:4000]


def invoice_lines(deal: Deal, items: tuple[LineItem, ...], rules: MappingRules,
                  currency: str | None = None) -> tuple[InvoiceLine, ...]:
    """The invoice's lines, priced as Xero prices them (shared/domain/money.py)."""
    currency = currency or invoice_currency(deal, rules)
    if items:
        return tuple(_line(deal, item, currency, rules) for item in items)
    if deal.amount is None or deal.amount <= 0:
        raise _reject(deal, "the deal has no line items and no positive amount: nothing to invoice")
    priced = price_line(Decimal(1), deal.amount, currency)
    codes = choose_line_codes(None, deal, rules)
    return (
        InvoiceLine(description=deal.name.strip() or f"Deal {deal.id}", quantity=Decimal(1),
                    unit_amount=priced.unit_amount, account_code=codes.account_code, tax_type=codes.tax_type,
                    discount_amount=priced.discount_amount, tracking=codes.tracking),
    )


def _line(deal: Deal, item: LineItem, currency: str, rules: MappingRules) -> InvoiceLine:
    if item.quantity != item.quantity.quantize(Decimal("0.0001")):
        raise _reject(deal, f"line item {item.id} has quantity {item.quantity}: the accounting system keeps "
                            "4 decimals at most")
    if item.currency and item.currency.strip().upper() != currency:
        raise _reject(deal, f"line item {item.id} is in {item.currency}, the deal in {currency}")
    if item.discount and item.discount_per_unit:
        raise _reject(deal, f"line item {item.id} has both a discount per unit ({item.discount_per_unit}) and "
                            f"a discount percentage ({item.discount}): keep one")
    if item.discount_per_unit > item.unit_price:
        raise _reject(deal, f"line item {item.id}: its discount per unit {item.discount_per_unit} exceeds its "
                            f"price {item.unit_price}")
    priced = price_line(item.quantity, item.unit_price, currency, discount_per_unit=item.discount_per_unit,
                        discount_percent=item.discount)
    codes = choose_line_codes(item, deal, rules)
    return InvoiceLine(
        description=line_description(item),
        quantity=item.quantity,
        unit_amount=priced.unit_amount,
        account_code=codes.account_code,
        tax_type=codes.tax_type,
        item_code=codes.item_code,
        discount_rate=priced.discount_rate,
        discount_amount=priced.discount_amount,
        tracking=codes.tracking,
    )


def lines_total(lines: tuple[InvoiceLine, ...]) -> Decimal:
    """The sum of the line amounts as Xero computes them from the lines as sent (each rounded on its own)."""
    return sum((xero_line_amount(line.quantity, line.unit_amount, line.discount_rate, line.discount_amount)
                for line in lines), Decimal("0.00"))


def build_invoice(
    deal: Deal, items: tuple[LineItem, ...], customer_id: str, today: date, rules: MappingRules
) -> InvoiceDraft:
    """The invoice for a won deal, or a ``BusinessRejection`` naming what is wrong with the deal."""
    currency = invoice_currency(deal, rules)
    lines = invoice_lines(deal, items, rules, currency)
    total = lines_total(lines)
    if total <= 0:
        raise _reject(deal, f"the invoice total would be {total}: nothing to invoice")
    if total > rules.max_total:
        raise _reject(deal, f"the invoice total {total} exceeds the configured maximum {rules.max_total}")
    issued = issue_date(deal, today, rules)
    return InvoiceDraft(
        customer_id=customer_id,
        reference=reference_for(deal.id),
        currency=currency,
        issue_date=issued,
        due_date=due_date(deal, issued, rules),
        lines=lines,
        line_amount_types=rules.line_amount_types,
        status=rules.status,
        branding_theme_id=rules.branding_theme_id,
    )


def _reject(deal: Deal, message: str) -> BusinessRejection:
    return BusinessRejection(f"deal {deal.id}: {message}", service="sync", code="invalid_deal")
