"""Xero's organisation settings the invoice mapping relies on (one GET each), and e-mailing an invoice.

Scopes: TaxRates, Accounts, TrackingCategories, BrandingThemes and Currencies need
``accounting.settings(.read)``; Items and the invoice e-mail need ``accounting.invoices(.read)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from shared.connectors.xero_models import _Wire
from shared.domain.org_catalogue import OrgCatalogue

if TYPE_CHECKING:
    from shared.connectors.xero import XeroClient



class XeroTaxRate(_Wire):
    TaxType: str | None = None
    Name: str | None = None
    Status: str | None = None


class TaxRatesEnvelope(_Wire):
    TaxRates: list[XeroTaxRate] = []


class XeroAccount(_Wire):
    Code: str | None = None
    Status: str | None = None


class AccountsEnvelope(_Wire):
    Accounts: list[XeroAccount] = []


class XeroItem(_Wire):
    Code: str | None = None
    IsSold: bool | None = None


class ItemsEnvelope(_Wire):
    Items: list[XeroItem] = []


class XeroTrackingOption(_Wire):
    Name: str | None = None
    Status: str | None = None


class XeroTrackingCategory(_Wire):
    Name: str | None = None
    Status: str | None = None
    Options: list[XeroTrackingOption] = []


class TrackingCategoriesEnvelope(_Wire):
    TrackingCategories: list[XeroTrackingCategory] = []


class XeroBrandingTheme(_Wire):
    BrandingThemeID: str | None = None
    Name: str | None = None


class BrandingThemesEnvelope(_Wire):
    BrandingThemes: list[XeroBrandingTheme] = []


class XeroCurrency(_Wire):
    Code: str | None = None


class CurrenciesEnvelope(_Wire):
    Currencies: list[XeroCurrency] = []


def _active(status: str | None) -> bool:
    return status in (None, "ACTIVE")


def _get[EnvelopeT: BaseModel](client: XeroClient, path: str, model: type[EnvelopeT]) -> EnvelopeT:
    return client._envelope(client._call("GET", path), f"organisation {path.strip('/')}", model)


def read_catalogue(client: XeroClient) -> OrgCatalogue:
    """Six GETs: the organisation's active tax types, accounts, sold items, tracking, themes and currencies."""
    taxes = _get(client, "/TaxRates", TaxRatesEnvelope).TaxRates
    accounts = _get(client, "/Accounts", AccountsEnvelope).Accounts
    items = _get(client, "/Items", ItemsEnvelope).Items
    tracking = _get(client, "/TrackingCategories", TrackingCategoriesEnvelope).TrackingCategories
    themes = _get(client, "/BrandingThemes", BrandingThemesEnvelope).BrandingThemes
    currencies = _get(client, "/Currencies", CurrenciesEnvelope).Currencies
    return OrgCatalogue(
        tax_types=frozenset(t.TaxType for t in taxes if t.TaxType and _active(t.Status)),
        account_codes=frozenset(a.Code for a in accounts if a.Code and _active(a.Status)),
        # An item that is not sold cannot be used on a sales invoice.
        item_codes=frozenset(i.Code for i in items if i.Code and i.IsSold is not False),
        tracking={c.Name: frozenset(o.Name for o in c.Options if o.Name and _active(o.Status))
                  for c in tracking if c.Name and _active(c.Status)},
        branding_themes={t.BrandingThemeID: t.Name or "" for t in themes if t.BrandingThemeID},
        currencies=frozenset(c.Code for c in currencies if c.Code),
    )


def email_invoice(client: XeroClient, invoice_id: str) -> None:
    """Xero e-mails the invoice to its contact (``POST /Invoices/{id}/Email``, 204) and marks it SentToContact."""
    response = client._call("POST", f"/Invoices/{invoice_id}/Email", json={})
    if not 200 <= response.status_code < 300:
        raise client._fail(response, f"e-mail invoice {invoice_id}")
