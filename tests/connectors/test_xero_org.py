"""The organisation's settings the mapping is checked against, codes on the invoice, and e-mailing it,
against the Xero simulator over HTTP (every exchange checked against Xero's OpenAPI spec)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from shared.connectors.xero import XeroClient
from shared.connectors.xero_auth import MAPPING_SCOPES, SCOPES
from shared.domain.errors import BusinessRejection, PermanentError
from shared.domain.models import Customer, InvoiceDraft, InvoiceLine, Tracking
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import make_xero

ORG = {"items": [{"Code": "WIDGET", "Name": "Widget"}, {"Code": "PARTS", "IsSold": False}],
       "tracking": {"Region": ["North", "South"], "Channel": ["Partner"]},
       "branding_themes": ["Standard", "Modern"]}


@pytest.fixture
def org_xero(xero_sim: SimulatorsProcess) -> Iterator[XeroClient]:
    httpx.post(f"{xero_sim.xero_url}/_sim/xero/org", json=ORG).raise_for_status()
    with make_xero(xero_sim, scopes=(*SCOPES, *MAPPING_SCOPES)) as client:
        yield client


def _draft(customer_id: str, theme: str | None, *, item: str | None = "WIDGET",
           tracking: tuple[Tracking, ...] = (Tracking(name="Region", option="North"),)) -> InvoiceDraft:
    return InvoiceDraft(
        customer_id=customer_id, reference="Deal 77", currency="EUR", issue_date=date(2026, 11, 2),
        due_date=date(2026, 12, 2), branding_theme_id=theme,
        lines=(InvoiceLine(description="Widget", quantity=Decimal(2), unit_amount=Decimal("10.00"),
                           account_code="4000", tax_type="OUTPUT2", item_code=item, tracking=tracking),))


def _customer(xero: XeroClient, email: str | None = "ap@example.com") -> str:
    return xero.create_customer(Customer(external_id="c-77", name="Contoso", email=email), "cust-77").id


def test_the_catalogue_is_six_gets_of_the_organisations_active_codes(
    org_xero: XeroClient, xero_sim: SimulatorsProcess,
) -> None:
    xero_sim.xero.clear_requests()
    catalogue = org_xero.organisation_catalogue()
    assert {"OUTPUT", "OUTPUT2", "NONE"} <= catalogue.tax_types and "200" in catalogue.account_codes
    assert catalogue.item_codes == {"WIDGET"}  # an item that is not sold is not offered for invoices
    assert catalogue.tracking == {"Region": {"North", "South"}, "Channel": {"Partner"}}
    assert sorted(catalogue.branding_themes.values()) == ["Modern", "Standard"]
    assert {"EUR", "USD"} <= catalogue.currencies
    gets = [r["path"].rsplit("/", 1)[-1] for r in xero_sim.xero.requests() if r["method"] == "GET"]
    assert gets == ["TaxRates", "Accounts", "Items", "TrackingCategories", "BrandingThemes", "Currencies"]


def test_without_the_settings_scope_the_catalogue_is_refused_as_xero_refuses_it(xero: XeroClient) -> None:
    with pytest.raises(PermanentError) as caught:
        xero.organisation_catalogue()
    assert caught.value.code == "forbidden"


def test_item_code_tracking_and_branding_theme_reach_the_invoice(
    org_xero: XeroClient, xero_sim: SimulatorsProcess,
) -> None:
    theme = org_xero.organisation_catalogue().branding_theme_id("Modern")
    ref = org_xero.create_invoice(_draft(_customer(org_xero), theme), "inv-77")
    [stored] = xero_sim.xero.state()["invoices"]
    assert stored["InvoiceID"] == ref.id and stored["BrandingThemeID"] == theme
    [line] = stored["LineItems"]
    assert line["ItemCode"] == "WIDGET"
    assert [(t["Name"], t["Option"]) for t in line["Tracking"]] == [("Region", "North")]


@pytest.mark.parametrize(("draft_args", "message"), [
    ({"item": "GADGET"}, "Item code 'GADGET' is not valid."),
    ({"tracking": (Tracking(name="Region", option="West"),)}, "Tracking option 'West' does not exist"),
    ({"tracking": (Tracking(name="Dept", option="Ops"),)}, "Tracking category 'Dept' does not exist"),
])
def test_a_code_the_organisation_lacks_is_refused_in_xeros_words(
    org_xero: XeroClient, draft_args: dict[str, object], message: str,
) -> None:
    with pytest.raises(BusinessRejection, match=message):
        org_xero.create_invoice(_draft(_customer(org_xero), None, **draft_args), "inv-bad")  # type: ignore[arg-type]


def test_an_unknown_branding_theme_is_refused(org_xero: XeroClient) -> None:
    with pytest.raises(BusinessRejection, match="Invalid BrandingThemeID"):
        org_xero.create_invoice(_draft(_customer(org_xero), "00000000-0000-0000-0000-00000000beef"), "inv-t")


def test_e_mailing_marks_the_invoice_sent_to_contact_and_is_counted(
    org_xero: XeroClient, xero_sim: SimulatorsProcess,
) -> None:
    ref = org_xero.create_invoice(_draft(_customer(org_xero), None), "inv-mail")
    assert org_xero.get_invoice(ref.id).sent_to_contact is False  # type: ignore[union-attr]
    org_xero.email_invoice(ref.id)
    assert org_xero.get_invoice(ref.id).sent_to_contact is True  # type: ignore[union-attr]
    assert xero_sim.xero.state()["emails_sent"] == {ref.id: 1}


def test_an_invoice_of_a_contact_without_an_email_address_cannot_be_sent(org_xero: XeroClient) -> None:
    ref = org_xero.create_invoice(_draft(_customer(org_xero, email=None), None), "inv-nomail")
    with pytest.raises(BusinessRejection, match="does not have an email address"):
        org_xero.email_invoice(ref.id)
