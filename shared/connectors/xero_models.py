"""Pydantic models of the Xero Accounting API 2.0 payloads the connector uses (money as Decimal)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "ContactsEnvelope",
    "InvoicesEnvelope",
    "TokenResponse",
    "XeroConnection",
    "XeroContact",
    "XeroContactRef",
    "XeroErrorBody",
    "XeroInvoice",
    "XeroLineItem",
    "XeroLineItemTracking",
    "XeroValidationError",
    "parse_xero_date",
]

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_xero_date(value: str | None) -> date | None:
    """Xero dates come as ``/Date(1539993600000+0000)/`` in JSON, or ISO text in the *String fields."""
    if not value:
        return None
    match = _MS_DATE.match(value)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
    return date.fromisoformat(value[:10])


class _Wire(BaseModel):
    """Xero payloads: unknown fields ignored on read; None fields never sent."""

    model_config = ConfigDict(extra="ignore")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="python", exclude_none=True)


class XeroValidationError(_Wire):
    Message: str = ""


class XeroContactRef(_Wire):
    ContactID: str


class XeroContact(_Wire):
    ContactID: str | None = None
    ContactNumber: str | None = None
    Name: str | None = None
    FirstName: str | None = None
    LastName: str | None = None
    EmailAddress: str | None = None
    ContactStatus: Literal["ACTIVE", "ARCHIVED", "GDPRREQUEST"] | None = None
    MergedToContactID: str | None = None  # set on a contact merged into another (read only)
    HasValidationErrors: bool | None = None
    ValidationErrors: list[XeroValidationError] | None = None


class XeroLineItemTracking(_Wire):
    Name: str | None = None
    Option: str | None = None


class XeroLineItem(_Wire):
    Description: str | None = None
    Quantity: Decimal | None = None
    UnitAmount: Decimal | None = None
    AccountCode: str | None = None
    TaxType: str | None = None
    ItemCode: str | None = None
    DiscountRate: Decimal | None = None
    DiscountAmount: Decimal | None = None
    LineAmount: Decimal | None = None
    TaxAmount: Decimal | None = None
    Tracking: list[XeroLineItemTracking] | None = None


InvoiceStatus = Literal["DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED"]


class XeroInvoice(_Wire):
    InvoiceID: str | None = None
    Type: str | None = None
    InvoiceNumber: str | None = None
    Reference: str | None = None
    Status: InvoiceStatus | None = None
    Contact: XeroContact | XeroContactRef | None = None
    LineItems: list[XeroLineItem] | None = None
    Date: str | None = None
    DueDate: str | None = None
    LineAmountTypes: Literal["Exclusive", "Inclusive", "NoTax"] | None = None
    CurrencyCode: str | None = None
    SubTotal: Decimal | None = None
    TotalTax: Decimal | None = None
    Total: Decimal | None = None
    AmountDue: Decimal | None = None
    AmountPaid: Decimal | None = None
    FullyPaidOnDate: str | None = None
    Payments: list[dict[str, Any]] | None = None
    BrandingThemeID: str | None = None
    SentToContact: bool | None = None
    HasErrors: bool | None = None
    ValidationErrors: list[XeroValidationError] | None = None


class InvoicesEnvelope(_Wire):
    Invoices: list[XeroInvoice] = []


class ContactsEnvelope(_Wire):
    Contacts: list[XeroContact] = []


class XeroErrorBody(_Wire):
    """A 400: ``{ErrorNumber, Type, Message, Elements[{..., ValidationErrors[{Message}]}]}``."""

    ErrorNumber: int | None = None
    Type: str | None = None
    Message: str = ""
    Elements: list[dict[str, Any]] = []

    def messages(self) -> list[str]:
        found = [
            str(err.get("Message"))
            for element in self.Elements
            for err in (element.get("ValidationErrors") or [])
            if isinstance(err, dict) and err.get("Message")
        ]
        return found or ([self.Message] if self.Message else [])


class TokenResponse(_Wire):
    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    refresh_token: str | None = None  # Web apps with offline_access; replaced on every refresh
    scope: str = ""


class XeroConnection(_Wire):
    """One organisation the user granted, from ``GET https://api.xero.com/connections``."""

    tenantId: str
    tenantType: str = "ORGANISATION"
    tenantName: str | None = None
