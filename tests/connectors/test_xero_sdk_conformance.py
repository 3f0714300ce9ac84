"""The simulator's Xero answers, read by Xero's own Python SDK (``xero-python``): a client nobody here wrote.

Every request the app makes is made here through the SDK's AccountingApi and IdentityApi over HTTP
against the simulator, and every answer must deserialize into the SDK's models (the SDK raises on
a field it cannot parse: a date in the wrong format, a number as text). Error answers are parsed
into the SDK's ``Error`` model. The token comes from the SDK's TokenApi, which authenticates the
client in the form body (the simulator must accept that as Xero does).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

xero_python = pytest.importorskip("xero_python")

from xero_python.accounting import AccountingApi  # noqa: E402
from xero_python.accounting.models import (  # noqa: E402
    Contact,
    Contacts,
    CurrencyCode,
    Invoice,
    Invoices,
    LineAmountTypes,
    LineItem,
    OnlineInvoices,
)
from xero_python.accounting.models import Contact as ContactModel  # noqa: E402
from xero_python.api_client import ApiClient  # noqa: E402
from xero_python.api_client.configuration import Configuration  # noqa: E402
from xero_python.api_client.deserializer import deserialize  # noqa: E402
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi  # noqa: E402
from xero_python.exceptions import HTTPStatusException  # noqa: E402
from xero_python.identity import IdentityApi  # noqa: E402

from simulators.testing import SimulatorsProcess  # noqa: E402
from tests.connectors.conftest import TENANT, XERO_CLIENT_ID, XERO_CLIENT_SECRET  # noqa: E402


@pytest.fixture
def xero_sim(sims: SimulatorsProcess) -> SimulatorsProcess:
    """Not the spec-checking fixture: the SDK's own requests carry read-only fields the spec refuses."""
    sims.xero.config(client_id=XERO_CLIENT_ID, client_secret=XERO_CLIENT_SECRET)
    return sims


@pytest.fixture
def sdk(xero_sim: SimulatorsProcess) -> Iterator[AccountingApi]:
    token: dict[str, Any] = {}
    client = ApiClient(Configuration(oauth2_token=OAuth2Token(client_id=XERO_CLIENT_ID,
                                                               client_secret=XERO_CLIENT_SECRET)),
                       pool_threads=1, oauth2_token_getter=lambda: token, oauth2_token_saver=token.update)
    tokens = TokenApi(client, XERO_CLIENT_ID, XERO_CLIENT_SECRET)
    tokens.client_credentials_token_url = f"{xero_sim.xero_url}/connect/token"
    token.update(tokens.get_client_credentials_token(app_store_billing=False))
    assert token["access_token"] and token["token_type"] == "Bearer"
    client.configuration.oauth2_token.update_token(**token)
    yield AccountingApi(client, base_url=f"{xero_sim.xero_url}/api.xro/2.0")


def _contact(api: AccountingApi, number: str = "company-1") -> Contact:
    made: Contacts = api.create_contacts(TENANT, Contacts(contacts=[Contact(name=f"Co {number}",
                                                                           contact_number=number,
                                                                           email_address="a@example.com")]),
                                         summarize_errors=False, idempotency_key=f"c-{number}")
    [contact] = made.contacts
    assert contact.contact_id and contact.contact_status == "ACTIVE"
    return contact


def _invoice(contact_id: str, **extra: Any) -> Invoice:
    return Invoice(type="ACCREC", contact=ContactModel(contact_id=contact_id), date=date(2026, 11, 2),
                   due_date=date(2026, 12, 2), line_amount_types=LineAmountTypes.EXCLUSIVE,
                   currency_code=CurrencyCode.USD,
                   reference="Deal 42", status="AUTHORISED",
                   line_items=[LineItem(description="Licence", quantity=Decimal("2"), unit_amount=Decimal("100.00"),
                                        account_code="200", tax_type="OUTPUT")], **extra)


def test_every_contact_answer_the_app_reads_deserializes_into_the_sdks_models(sdk: AccountingApi) -> None:
    contact = _contact(sdk)
    found: Contacts = sdk.get_contacts(TENANT, where=f'ContactNumber=="{contact.contact_number}"',
                                       include_archived=True)
    assert [c.contact_id for c in found.contacts] == [contact.contact_id]
    one: Contacts = sdk.get_contact(TENANT, contact.contact_id)
    assert one.contacts[0].updated_date_utc is not None  # Xero's /Date(...)/ parsed into a datetime
    archived: Contacts = sdk.update_contact(TENANT, contact.contact_id, Contacts(contacts=[
        Contact(contact_id=contact.contact_id, contact_status="ARCHIVED")]))
    assert archived.contacts[0].contact_status == "ARCHIVED"
    empty: Contacts = sdk.get_contacts(TENANT, where='ContactNumber=="nobody"')
    assert empty.contacts == []


def test_every_invoice_answer_the_app_reads_deserializes_into_the_sdks_models(sdk: AccountingApi) -> None:
    contact = _contact(sdk)
    made: Invoices = sdk.create_invoices(TENANT, Invoices(invoices=[_invoice(contact.contact_id)]),
                                         summarize_errors=False, idempotency_key="inv-1")
    [invoice] = made.invoices
    assert invoice.total == Decimal("230.00") and invoice.date == date(2026, 11, 2)
    assert invoice.due_date == date(2026, 12, 2) and invoice.line_items[0].line_amount == Decimal("200.00")
    by_reference: Invoices = sdk.get_invoices(TENANT, where='Reference=="Deal 42"', page=1, page_size=100)
    assert [i.invoice_id for i in by_reference.invoices] == [invoice.invoice_id]
    live: Invoices = sdk.get_invoices(TENANT, contact_i_ds=[contact.contact_id],
                                      statuses=["DRAFT", "SUBMITTED", "AUTHORISED", "PAID"], page=1, page_size=100)
    assert len(live.invoices) == 1 and live.invoices[0].amount_due == Decimal("230.00")
    link: OnlineInvoices = sdk.get_online_invoice(TENANT, invoice.invoice_id)
    assert link.online_invoices[0].online_invoice_url
    voided: Invoices = sdk.update_invoice(TENANT, invoice.invoice_id, Invoices(invoices=[
        Invoice(invoice_id=invoice.invoice_id, status="VOIDED")]))
    assert voided.invoices[0].status == "VOIDED"
    again: Invoices = sdk.get_invoice(TENANT, invoice.invoice_id)
    assert again.invoices[0].status == "VOIDED" and again.invoices[0].amount_due == Decimal("0.00")


def test_a_paid_invoice_with_its_payment_deserializes(sdk: AccountingApi, xero_sim: SimulatorsProcess) -> None:
    contact = _contact(sdk)
    [invoice] = sdk.create_invoices(TENANT, Invoices(invoices=[_invoice(contact.contact_id)]),
                                    summarize_errors=False).invoices
    xero_sim.xero.pay_invoice(invoice.invoice_id, date="2026-11-20")
    paid: Invoices = sdk.get_invoice(TENANT, invoice.invoice_id)
    assert paid.invoices[0].status == "PAID" and paid.invoices[0].fully_paid_on_date == date(2026, 11, 20)
    assert paid.invoices[0].payments[0].amount == Decimal("230.00")


def test_per_item_validation_errors_deserialize_as_xero_renders_them(sdk: AccountingApi) -> None:
    contact = _contact(sdk)
    bad = _invoice(contact.contact_id)
    bad.line_items[0].account_code = "999"
    answer: Invoices = sdk.create_invoices(TENANT, Invoices(invoices=[bad, _invoice(contact.contact_id)]),
                                           summarize_errors=False)
    failed, made = answer.invoices
    assert failed.has_errors and "Account code '999'" in failed.validation_errors[0].message
    assert failed.date == date(2026, 11, 2)  # Xero's own date format, read back as the same date
    assert made.status == "AUTHORISED" and not made.has_errors
    twin: Contacts = sdk.create_contacts(TENANT, Contacts(contacts=[Contact(name="Co company-1")]),
                                         summarize_errors=False)
    refused = twin.contacts[0]
    assert refused.has_validation_errors and "already assigned" in refused.validation_errors[0].message


def test_error_answers_deserialize_into_the_sdks_error_model(sdk: AccountingApi, xero_sim: SimulatorsProcess) -> None:
    answer = httpx.put(f"{xero_sim.xero_url}/api.xro/2.0/Invoices", json={"Invoices": [{"Type": "ACCREC"}]},
                       headers={"Authorization": f"Bearer {sdk.api_client.configuration.oauth2_token.access_token}",
                                "xero-tenant-id": TENANT})
    assert answer.status_code == 400
    error = deserialize("Error", json.loads(answer.text, parse_float=Decimal), sdk.get_model_finder())
    assert error.type == "ValidationException" and error.elements[0].validation_errors[0].message
    with pytest.raises(HTTPStatusException) as missing:
        sdk.get_invoice(TENANT, "00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404


def test_connections_deserialize_into_the_identity_sdks_models(sdk: AccountingApi,
                                                               xero_sim: SimulatorsProcess) -> None:
    identity = IdentityApi(sdk.api_client, base_url=xero_sim.xero_url)
    assert identity.get_connections() == []  # a custom connection's token lists no user grant


def test_the_organisation_settings_the_mapping_is_checked_against_deserialize(
    sdk: AccountingApi, xero_sim: SimulatorsProcess,
) -> None:
    httpx.post(f"{xero_sim.xero_url}/_sim/xero/org", json={
        "items": [{"Code": "WIDGET", "Name": "Widget"}], "tracking": {"Region": ["North"]},
        "branding_themes": ["Modern"]}).raise_for_status()
    assert "OUTPUT" in {t.tax_type for t in sdk.get_tax_rates(TENANT).tax_rates}
    assert "200" in {a.code for a in sdk.get_accounts(TENANT).accounts}
    assert [i.code for i in sdk.get_items(TENANT).items] == ["WIDGET"]
    [region] = sdk.get_tracking_categories(TENANT).tracking_categories
    assert region.name == "Region" and [o.name for o in region.options] == ["North"]
    [theme] = sdk.get_branding_themes(TENANT).branding_themes
    assert theme.name == "Modern" and theme.branding_theme_id
    assert "EUR" in {str(c.code.value if hasattr(c.code, "value") else c.code)
                     for c in sdk.get_currencies(TENANT).currencies}


def test_an_invoice_with_item_tracking_and_theme_deserializes_and_is_e_mailed(
    sdk: AccountingApi, xero_sim: SimulatorsProcess,
) -> None:
    from xero_python.accounting.models import LineItemTracking, RequestEmpty

    httpx.post(f"{xero_sim.xero_url}/_sim/xero/org", json={
        "items": [{"Code": "WIDGET"}], "tracking": {"Region": ["North"]}, "branding_themes": ["Modern"]},
    ).raise_for_status()
    theme_id = sdk.get_branding_themes(TENANT).branding_themes[0].branding_theme_id
    contact = _contact(sdk)
    invoice = _invoice(contact.contact_id, branding_theme_id=theme_id)
    invoice.line_items[0].item_code = "WIDGET"
    invoice.line_items[0].tracking = [LineItemTracking(name="Region", option="North")]
    [made] = sdk.create_invoices(TENANT, Invoices(invoices=[invoice]), summarize_errors=False).invoices
    assert not made.has_errors and str(made.branding_theme_id) == str(theme_id)
    assert made.line_items[0].item_code == "WIDGET" and made.line_items[0].tracking[0].option == "North"
    assert made.sent_to_contact is False
    sdk.email_invoice(TENANT, made.invoice_id, RequestEmpty())
    assert sdk.get_invoice(TENANT, made.invoice_id).invoices[0].sent_to_contact is True
