"""HubSpot records to domain models, parsing HubSpot's string properties strictly.

A property that cannot be read is bad data in the CRM, not a bug: it raises BusinessRejection
(code ``invalid_property``) whose message names the object, its id and the property.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from shared.connectors.hubspot_models import HubSpotObject
from shared.domain.errors import BusinessRejection
from shared.domain.models import Company, Deal, LineItem, Person, SyncMarkers

__all__ = [
    "DEAL_PROPERTIES",
    "MARKER_PROPERTIES",
    "PAID_PROPERTIES",
    "PropertyReader",
    "to_company",
    "to_deal",
    "to_line_item",
    "to_person",
]

# SyncMarkers field (or paid field) -> the custom HubSpot deal property that stores it.
MARKER_PROPERTIES: dict[str, str] = {
    "sync_status": "invoice_sync_status",
    "transaction_id": "invoice_sync_transaction_id",
    "invoice_id": "xero_invoice_id",
    "invoice_number": "xero_invoice_number",
    "invoice_url": "xero_invoice_url",
    "last_error": "invoice_sync_error",
    "paid_status": "invoice_paid_status",
    "paid_date": "invoice_paid_date",
    "amount_paid": "invoice_amount_paid",
    "amount_due": "invoice_amount_due",
}
PAID_PROPERTIES = ("invoice_paid_status", "invoice_paid_date", "invoice_amount_paid", "invoice_amount_due")
PAYMENT_TERMS_PROPERTY = "payment_terms_days"
CURRENCY_PROPERTY = "deal_currency_code"  # HubSpot's own property

DEAL_PROPERTIES: tuple[str, ...] = (
    "dealname",
    "amount",
    "closedate",
    "pipeline",
    "dealstage",
    CURRENCY_PROPERTY,
    "hs_lastmodifieddate",
    PAYMENT_TERMS_PROPERTY,
    *MARKER_PROPERTIES.values(),
)
LINE_ITEM_PROPERTIES = ("name", "quantity", "price", "hs_sku", "description", "hs_discount_percentage",
                        "discount", "amount", "hs_line_item_currency_code", "hs_tax_rate_group_id",
                        "hs_product_id")
COMPANY_PROPERTIES = ("name", "domain", "address", "city", "country", "email")
CONTACT_PROPERTIES = ("firstname", "lastname", "email")

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_EPOCH_MS = re.compile(r"^\d{10,14}$")


class PropertyReader:
    """Reads one record's properties; every failure names the object, id and property."""

    def __init__(self, obj: HubSpotObject, kind: str) -> None:
        self.obj = obj
        self.kind = kind

    def _reject(self, name: str, why: str) -> BusinessRejection:
        raw = self.obj.properties.get(name)
        shown = raw if raw is None or len(raw) <= 60 else raw[:57] + "..."
        details = {"object": self.kind, "id": self.obj.id, "property": name}
        modified = self.obj.properties.get("hs_lastmodifieddate")
        if modified and name != "hs_lastmodifieddate":
            # When the record was last changed: a batch that finds it unreadable starts one failed
            # transaction per change, not one per schedule (shared.sync.discovery).
            details["modified"] = modified.strip()
        return BusinessRejection(
            f"{self.kind} {self.obj.id}: property {name} {why} (value {shown!r})",
            service="hubspot",
            code="invalid_property",
            details=details,
        )

    def text(self, name: str) -> str | None:
        value = self.obj.properties.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def required_text(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise self._reject(name, "is missing")
        return value

    def decimal(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self._reject(name, "is not a number") from None
        if not number.is_finite():
            raise self._reject(name, "is not a finite number")
        return number

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        if value is None:
            return None
        if _INTEGER.match(value):
            return int(value)
        # HubSpot number properties may come back as "30.0"; a fraction is still an error.
        number = self.decimal(name)
        if number is None or number != number.to_integral_value():
            raise self._reject(name, "is not a whole number")
        return int(number)

    def timestamp(self, name: str) -> datetime | None:
        value = self.text(name)
        if value is None:
            return None
        if _EPOCH_MS.match(value):
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self._reject(name, "is not a date-time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        if len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise self._reject(name, "is not a date") from None
        stamp = self.timestamp(name)
        return stamp.date() if stamp else None

    def currency(self, name: str) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        # HubSpot keeps what an import or a workflow wrote: "eur" or " EUR " is EUR, not bad data.
        code = value.upper()
        if not _CURRENCY.match(code):
            raise self._reject(name, "is not an ISO 4217 currency code")
        return code


def _association_ids(obj: HubSpotObject, *keys: str) -> tuple[str, ...]:
    if not obj.associations:
        return ()
    for key in keys:
        found = obj.associations.get(key)
        if found is not None:
            # A record may be associated twice with different labels: keep each id once, in order.
            return tuple(dict.fromkeys(ref.id for ref in found.results))
    return ()


def to_deal(obj: HubSpotObject, extra_properties: tuple[str, ...] = ()) -> Deal:
    r = PropertyReader(obj, "deal")
    markers = SyncMarkers(**{field: r.text(prop) or "" for field, prop in MARKER_PROPERTIES.items()})
    terms = r.integer(PAYMENT_TERMS_PROPERTY)
    if terms is not None and not 0 <= terms <= 3650:
        raise r._reject(PAYMENT_TERMS_PROPERTY, "is out of range 0..3650")
    return Deal(
        id=obj.id,
        name=r.text("dealname") or "",
        stage=r.required_text("dealstage"),
        amount=r.decimal("amount"),
        currency=r.currency(CURRENCY_PROPERTY),
        close_date=r.day("closedate"),
        payment_terms_days=terms,
        last_modified=r.timestamp("hs_lastmodifieddate"),
        company_ids=_association_ids(obj, "companies"),
        contact_ids=_association_ids(obj, "contacts"),
        # HubSpot names this association "line items" in v3 responses (with a space).
        line_item_ids=_association_ids(obj, "line items", "line_items"),
        markers=markers,
        # Further properties read for the invoice mapping (its tracking rules name them).
        properties={name: value for name in extra_properties if (value := r.text(name)) is not None},
    )


def to_line_item(obj: HubSpotObject) -> LineItem:
    r = PropertyReader(obj, "line_item")
    quantity = r.decimal("quantity")
    price = r.decimal("price")
    if quantity is None or quantity <= 0:
        raise r._reject("quantity", "must be a number greater than 0")
    if price is None or price < 0:
        raise r._reject("price", "must be a number of at least 0")
    discount = r.decimal("hs_discount_percentage") or Decimal("0")
    if not Decimal("0") <= discount <= Decimal("100"):
        raise r._reject("hs_discount_percentage", "must be between 0 and 100")
    per_unit = r.decimal("discount") or Decimal("0")  # HubSpot's "discount" is an amount off each unit
    if per_unit < 0:
        raise r._reject("discount", "must be a number of at least 0")
    return LineItem(
        id=obj.id,
        name=r.text("name") or "",
        quantity=quantity,
        unit_price=price,
        sku=r.text("hs_sku"),
        description=r.text("description"),
        discount=discount,
        discount_per_unit=per_unit,
        amount=r.decimal("amount"),
        currency=r.text("hs_line_item_currency_code"),
        tax_rate_group_id=r.text("hs_tax_rate_group_id"),
        product_id=r.text("hs_product_id"),
    )


def to_company(obj: HubSpotObject) -> Company:
    r = PropertyReader(obj, "company")
    return Company(
        id=obj.id,
        name=r.required_text("name"),
        email=r.text("email"),
        domain=r.text("domain"),
        address_line=r.text("address"),
        city=r.text("city"),
        country=r.text("country"),
    )


def to_person(obj: HubSpotObject) -> Person:
    r = PropertyReader(obj, "contact")
    return Person(
        id=obj.id, first_name=r.text("firstname"), last_name=r.text("lastname"), email=r.text("email")
    )
