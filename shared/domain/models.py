"""Domain models of the sync, in its own terms (deal, customer, invoice), independent of any vendor API.

Money is ``Decimal`` everywhere: floats cannot represent cents exactly, and an invoice that is off
by a cent is a wrong invoice. Models are pydantic so that they cross durable boundaries as plain JSON
(``model_dump(mode="json")`` / ``model_validate``) and never as the SDK's class envelopes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DomainModel(BaseModel):
    """Base: immutable, strict about unknown fields, JSON-friendly."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Company(DomainModel):
    """The customer organisation in the CRM."""

    id: str
    name: str
    email: str | None = None
    domain: str | None = None
    address_line: str | None = None
    city: str | None = None
    country: str | None = None


class Person(DomainModel):
    """A contact person of the customer."""

    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class LineItem(DomainModel):
    """One priced line of a deal."""

    id: str
    name: str
    quantity: Decimal = Field(gt=0)
    unit_price: Decimal = Field(ge=0)
    sku: str | None = None
    description: str | None = None
    discount: Decimal = Decimal("0")  # a percentage (HubSpot's hs_discount_percentage)
    discount_per_unit: Decimal = Decimal("0")  # an amount off each unit (HubSpot's discount)
    amount: Decimal | None = None  # the CRM's own line amount, for comparison only
    currency: str | None = None  # the line's currency when the CRM gives one
    tax_rate_group_id: str | None = None  # HubSpot's hs_tax_rate_group_id
    product_id: str | None = None  # HubSpot's hs_product_id


SyncStatus = Literal["", "in_progress", "synced", "failed", "compensated", "needs_attention"]


class SyncMarkers(DomainModel):
    """The CRM fields this app writes on a deal (its semantic lock and its write-back)."""

    sync_status: str = ""
    transaction_id: str = ""
    invoice_id: str = ""
    invoice_number: str = ""
    invoice_url: str = ""
    last_error: str = ""
    paid_status: str = ""  # "partially_paid" or "paid", as the accounting system reports the invoice
    paid_date: str = ""  # ISO date of that payment
    amount_paid: str = ""  # what was paid of the invoice so far (decimal text)
    amount_due: str = ""  # what is still due on it


class Deal(DomainModel):
    """A CRM deal as the sync needs it."""

    id: str
    name: str
    stage: str
    amount: Decimal | None = None
    currency: str | None = None
    close_date: date | None = None
    payment_terms_days: int | None = None
    last_modified: datetime | None = None
    company_ids: tuple[str, ...] = ()
    contact_ids: tuple[str, ...] = ()
    line_item_ids: tuple[str, ...] = ()
    markers: SyncMarkers = SyncMarkers()
    # The further deal properties the invoice mapping reads (tracking categories), by property name.
    properties: dict[str, str] = Field(default_factory=dict)


class DealSnapshot(DomainModel):
    """What one read of the CRM gave for a deal: always the deal; its lines, company and first contact
    when the CRM can answer them in the same read (None: not read, ask for them separately)."""

    deal: Deal
    line_items: tuple[LineItem, ...] | None = None
    company: Company | None = None
    first_contact: Person | None = None


class Customer(DomainModel):
    """The customer as the accounting system should know it."""

    external_id: str  # the CRM company id, kept in the accounting system's own field for external ids
    name: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class CustomerRef(DomainModel):
    """A customer record in the accounting system."""

    id: str
    external_id: str
    name: str
    status: str = "ACTIVE"


class Tracking(DomainModel):
    """One tracking category of an invoice line and the option chosen in it."""

    name: str
    option: str


class InvoiceLine(DomainModel):
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str | None = None
    item_code: str | None = None
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None  # the whole line's discount
    tracking: tuple[Tracking, ...] = Field(default=(), max_length=2)


class InvoiceDraft(DomainModel):
    """A sales invoice ready to be created in the accounting system."""

    customer_id: str
    reference: str
    currency: str
    issue_date: date
    due_date: date
    lines: tuple[InvoiceLine, ...]
    line_amount_types: str = "Exclusive"
    status: str = "AUTHORISED"
    branding_theme_id: str | None = None


class InvoiceRef(DomainModel):
    """An invoice in the accounting system."""

    id: str
    number: str
    status: str
    reference: str = ""
    total: Decimal | None = None
    currency: str | None = None
    url: str = ""
    customer_id: str | None = None
    amount_paid: Decimal | None = None
    amount_due: Decimal | None = None
    paid_on: date | None = None  # set once the invoice is fully paid
    sent_to_contact: bool | None = None  # Xero's SentToContact: the invoice was e-mailed


UndoOutcome = Literal["voided", "deleted", "already_gone", "absent"]
