"""The Xero simulator's organisation settings: tax rates, accounts, items, tracking, branding themes, currencies.

Decisions (documented for test writers; Xero's own shapes where its documentation gives them):
- ``GET /TaxRates``, ``/Accounts``, ``/Items``, ``/TrackingCategories`` (with ``Options``), ``/BrandingThemes`` and
  ``/Currencies`` answer the organisation's records in Xero's envelopes. Tax rates and accounts are the ones
  the invoice check accepts (``TAX_RATES``, ``ACCOUNT_CODES`` of ``simulators.xero.schema``), currencies its
  ``CURRENCIES``; one branding theme ("Standard") exists; items and tracking are empty until seeded.
- ``POST /_sim/xero/org`` ``{"items": [{"Code", "Name"?, "IsSold"?}], "tracking": {"Region": ["North", ...]},
  "branding_themes": ["Modern"], "tax_rates": ["OUTPUT", ...], "email_failures": n, "email_failure_status": 500}``
  replaces what it names (``tax_rates``: which of ``TAX_RATES`` the organisation keeps).
- A new invoice is checked like Xero does: an ``ItemCode`` the organisation lacks, a tracking category or option
  it lacks (or more than two per line), a ``BrandingThemeID`` it lacks are ValidationErrors.
- ``POST /Invoices/{id}/Email`` (empty body): 204, the invoice is ``SentToContact``; only a SUBMITTED, AUTHORISED
  or PAID invoice of a contact with an e-mail address can be sent (400 otherwise; the messages are ours).
  ``/_sim/state`` counts the sends per invoice (``emails_sent``). ``email_failures`` makes the next n sends
  answer ``email_failure_status``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import web

from simulators.wire import json_response, read_json

NAMESPACE = uuid.UUID("0b7e2f7c-62c5-4a0c-9a57-5c1b8f1f3e21")
MAX_TRACKING = 2


def _id(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


@dataclass
class OrgState:
    """One organisation's settings and the e-mails sent for its invoices."""

    tax_rates: dict[str, Decimal]
    account_codes: set[str]
    currencies: set[str]
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracking: dict[str, list[str]] = field(default_factory=dict)
    branding_themes: dict[str, str] = field(default_factory=lambda: {_id("theme", "Standard"): "Standard"})
    emails_sent: dict[str, int] = field(default_factory=dict)
    all_tax_rates: dict[str, Decimal] = field(default_factory=dict)
    email_failures: int = 0
    email_failure_status: int = 500

    # --- invoice checks (hooks of XeroSim.check_invoice) ---

    def check_line(self, n: int, line: dict[str, Any], errors: list[str]) -> dict[str, Any]:
        """Validate a line's ItemCode and Tracking; the fields to store on the line."""
        extra: dict[str, Any] = {}
        code = line.get("ItemCode")
        if code:
            if str(code) not in self.items:
                errors.append(f"Item code '{code}' is not valid.")
            else:
                extra["ItemCode"] = str(code)
        tracking = line.get("Tracking") or []
        if not isinstance(tracking, list):
            errors.append(f"Line {n}: Tracking must be a list.")
            return extra
        if len(tracking) > MAX_TRACKING:
            errors.append("A maximum of 2 tracking categories can be applied per line item.")
        stored = []
        for t in tracking:
            name, option = str((t or {}).get("Name") or ""), str((t or {}).get("Option") or "")
            if name not in self.tracking:
                errors.append(f"Tracking category '{name}' does not exist.")
            elif option not in self.tracking[name]:
                errors.append(f"Tracking option '{option}' does not exist for tracking category '{name}'.")
            else:
                stored.append({"TrackingCategoryID": _id("tracking", name), "Name": name, "Option": option,
                               "TrackingOptionID": _id("option", f"{name}/{option}")})
        if stored:
            extra["Tracking"] = stored
        return extra

    def check_invoice(self, data: dict[str, Any], errors: list[str]) -> dict[str, Any]:
        theme = data.get("BrandingThemeID")
        if not theme:
            return {}
        if str(theme).lower() not in {t.lower() for t in self.branding_themes}:
            errors.append("Invalid BrandingThemeID.")
            return {}
        return {"BrandingThemeID": str(theme).lower()}

    # --- answers ---

    def render(self, key: str) -> list[dict[str, Any]]:
        if key == "TaxRates":
            return [{"Name": f"Tax {code}", "TaxType": code, "Status": "ACTIVE", "ReportTaxType": "OUTPUT",
                     "CanApplyToRevenue": True, "CanApplyToAssets": False, "CanApplyToEquity": False,
                     "CanApplyToExpenses": False, "CanApplyToLiabilities": False,
                     "DisplayTaxRate": rate * 100, "EffectiveRate": rate * 100,
                     "TaxComponents": [{"Name": "Tax", "Rate": rate * 100, "IsCompound": False,
                                        "IsNonRecoverable": False}]}
                    for code, rate in sorted(self.tax_rates.items())]
        if key == "Accounts":
            return [{"AccountID": _id("account", code), "Code": code, "Name": f"Sales {code}", "Type": "REVENUE",
                     "Status": "ACTIVE", "TaxType": "OUTPUT", "Class": "REVENUE", "EnablePaymentsToAccount": False,
                     "ShowInExpenseClaims": False, "ReportingCode": "REV", "HasAttachments": False}
                    for code in sorted(self.account_codes)]
        if key == "Items":
            return [{"ItemID": _id("item", code), "Code": code, "Name": item.get("Name") or code,
                     "IsSold": bool(item.get("IsSold", True)), "IsPurchased": False,
                     "IsTrackedAsInventory": False, "SalesDetails": {"UnitPrice": 0, "AccountCode": "200"}}
                    for code, item in sorted(self.items.items())]
        if key == "TrackingCategories":
            return [{"TrackingCategoryID": _id("tracking", name), "Name": name, "Status": "ACTIVE",
                     "Options": [{"TrackingOptionID": _id("option", f"{name}/{o}"), "Name": o, "Status": "ACTIVE",
                                  "HasValidationErrors": False, "IsDeleted": False, "IsArchived": False,
                                  "IsActive": True} for o in options]}
                    for name, options in sorted(self.tracking.items())]
        if key == "BrandingThemes":
            return [{"BrandingThemeID": theme_id, "Name": name, "Type": "INVOICE", "SortOrder": n,
                     "CreatedDateUTC": "/Date(1767225600000+0000)/"}
                    for n, (theme_id, name) in enumerate(sorted(self.branding_themes.items(), key=lambda t: t[1]))]
        if key == "Currencies":
            return [{"Code": code, "Description": code} for code in sorted(self.currencies)]
        raise KeyError(key)

    def configure(self, body: dict[str, Any]) -> None:
        if "tax_rates" in body:  # a subset of simulators.xero.schema.TAX_RATES, by TaxType
            self.tax_rates = {code: rate for code, rate in self.all_tax_rates.items() if code in body["tax_rates"]}
        if "items" in body:
            self.items = {str(i["Code"]): dict(i) for i in body["items"]}
        if "tracking" in body:
            self.tracking = {str(k): [str(o) for o in v] for k, v in body["tracking"].items()}
        if "branding_themes" in body:
            self.branding_themes = {_id("theme", str(n)): str(n) for n in body["branding_themes"]}
        if "email_failures" in body:
            self.email_failures = int(body["email_failures"])
        if "email_failure_status" in body:
            self.email_failure_status = int(body["email_failure_status"])

    def snapshot(self) -> dict[str, Any]:
        return {"emails_sent": dict(self.emails_sent)}


def add_org_routes(router: web.UrlDispatcher, api: str, sim: Any) -> None:
    """The organisation's endpoints on the simulator (``sim`` is the XeroSim: its ``org``, invoices, answers)."""

    def lister(key: str) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            return sim.ok(key, sim.org.render(key))  # type: ignore[no-any-return]
        return handler

    for key in ("TaxRates", "Accounts", "Items", "TrackingCategories", "BrandingThemes", "Currencies"):
        router.add_get(f"{api}/{key}", lister(key))

    async def email(request: web.Request) -> web.Response:
        org: OrgState = sim.org
        inv = sim.find_invoice(request.match_info["id"])
        if inv is None:
            return sim.not_found()  # type: ignore[no-any-return]
        if org.email_failures > 0:
            org.email_failures -= 1
            status = org.email_failure_status
            return json_response(sim.error_body(status, "The e-mail could not be sent"), status)
        if inv["Status"] not in ("SUBMITTED", "AUTHORISED", "PAID"):
            return sim.validation([], "Only approved invoices can be emailed")  # type: ignore[no-any-return]
        if not (sim.contacts.get(inv["ContactID"]) or {}).get("EmailAddress"):
            return sim.validation([], "The contact does not have an email address")  # type: ignore[no-any-return]
        inv["SentToContact"] = True
        org.emails_sent[inv["InvoiceID"]] = org.emails_sent.get(inv["InvoiceID"], 0) + 1
        return web.Response(status=204)

    router.add_post(f"{api}/Invoices/{{id}}/Email", email)

    async def admin(request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        sim.org.configure(body)
        return json_response({"ok": True})

    router.add_post("/_sim/xero/org", admin)
