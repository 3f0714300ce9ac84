"""The Xero Accounting API simulator: contacts, invoices, idempotency, scopes, limits, webhooks.

Decisions (documented for test writers):
- One organisation's data; the ``xero-tenant-id`` header must be present (403 otherwise) and, if
  ``tenant_ids`` is configured, one of them. Rate limits are counted per tenant id.
- ``Idempotency-Key`` (max 128 chars) on PUT/POST: a repeated key, for the same tenant, replays the
  original status and body and changes nothing, even if the new body differs (Xero's behaviour).
- The identity service (tokens, authorize page, ``/connections``, revocation, scopes) is
  ``simulators.xero_identity``. Token lifetime is in real seconds (``token_lifetime``);
  ``POST /_sim/xero/expire-tokens`` kills every issued access token (refresh tokens live on).
- Daily limit: ``tier`` ``starter`` (1,000 calls a day per organisation, Xero's free tier since
  2026-03-02) or ``paid`` (5,000); ``calls_per_day`` when ``tier`` is None. Every API answer, 429s
  included, carries ``X-DayLimit-Remaining`` and ``X-MinLimit-Remaining``.
- ``time_scale`` K makes the rate-limit minute last 60/K real seconds and the day 86400/K;
  ``Retry-After`` is in real seconds (rounded up). ``GET /_sim/state`` counts the 429s served
  by limit (``rate_limited``: ``{"minute": n, "concurrent": n, ...}``).
- ``POST /_sim/xero/invoices/{id}/pay`` ``{"amount": "...", "date": "YYYY-MM-DD"}`` (amount defaults to
  what is due) records a payment; fully paid means PAID with FullyPaidOnDate; a webhook (INVOICE UPDATE)
  goes to the URL configured with ``POST /_sim/webhooks`` ``{"url": ..., "key": ...}``.
- ``POST /Invoices/{id}`` with ``LineItems`` edits an unpaid invoice's lines (``simulators.xero_edits``).
- ``POST /_sim/xero/invoices/{id}/status`` ``{"status": "VOIDED" | "DELETED"}`` is a person voiding or
  deleting the invoice in the Xero app: Xero's status rules apply, and the INVOICE UPDATE webhook goes out.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
import uuid
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from simulators import seed as seed_data
from simulators import xero_edits
from simulators.base import SimServer
from simulators.idempotency import ReplayStore
from simulators.ratelimit import Window
from simulators.webhook_sender import deliver, xero_headers
from simulators.wire import json_response, read_json
from simulators.xero_identity import Identity, required_scopes
from simulators.xero_money import line_money
from simulators.xero_org import OrgState, add_org_routes
from simulators.xero_where import WhereError, compile_where

__all__ = ["XeroSim"]

API = "/api.xro/2.0"
CENT = Decimal("0.01")
TAX_RATES = {
    "OUTPUT": Decimal("0.15"),
    "OUTPUT2": Decimal("0.20"),
    "NONE": Decimal("0"),
    "EXEMPTOUTPUT": Decimal("0"),
    "TAX001": Decimal("0.0825"),
}
ACCOUNT_CODES = {"200", "260", "400", "4000", "4100"}
CURRENCIES = {"USD", "EUR", "GBP", "AUD", "NZD", "CAD", "JPY"}
INVOICE_STATUSES = {"DRAFT", "SUBMITTED", "AUTHORISED"}
NAMESPACE = uuid.UUID("6f1e6a52-0c55-4d8e-9d2a-6c0f3f1b7a10")


def ms_date(day: date) -> str:
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)}+0000)/"


def ms_now() -> str:
    return f"/Date({int(time.time() * 1000)}+0000)/"


def parse_date(value: Any) -> date | None:
    """A request's date as Xero reads it: ``YYYY-MM-DD[T...]`` or its own ``/Date(ms+zone)/``."""
    if not value:
        return None
    text = str(value)
    if text.startswith("/Date("):
        ms = int(re.split(r"[)+-]", text[6:], maxsplit=1)[0] or "x")
        return datetime.fromtimestamp(ms / 1000, tz=UTC).date()
    return date.fromisoformat(text[:10])


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class XeroSim(SimServer):
    name = "xero"
    defaults: dict[str, Any] = {
        "client_id": None,  # expected client credentials; None accepts any
        "client_secret": None,
        "tenant_ids": None,  # list of accepted tenant ids; None accepts any
        "token_lifetime": 1800,
        "calls_per_minute": 60,
        "max_concurrent": 5,
        "calls_per_day": 5000,
        "tier": None,  # "starter" (1,000 a day) or "paid" (5,000); None: calls_per_day
        "redirect_uris": None,  # the Web app's registered redirect URIs; None accepts any
        "refresh_lifetime": 60 * 86400,  # a refresh token unused this long dies (divided by time_scale)
        "refresh_grace": 1800,  # a used refresh token may be retried this long (divided by time_scale)
        "default_tenant_id": str(uuid.uuid5(NAMESPACE, "tenant")),
        "app_calls_per_minute": 10_000,
        "time_scale": 1.0,
        "webhook_url": None,
        "webhook_key": None,
        "organisation": "Demo Company (Global)",
    }

    def reset_state(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.identity = Identity(self.config)
        self.idempotency = ReplayStore()
        self.deliveries: list[dict[str, Any]] = []
        # 429s served, by X-Rate-Limit-Problem (minute, daily, concurrent, appminute): what a client met.
        self.rate_limited: dict[str, int] = {}
        self._numbers = itertools.count(1)
        self._ids = itertools.count(1)
        self._event_seq = itertools.count(1)
        self._minute: dict[str, Window] = {}
        self._day: dict[str, Window] = {}
        self._app = Window(0, 60.0)
        self._in_flight: dict[str, int] = {}
        self.org = OrgState(dict(TAX_RATES), set(ACCOUNT_CODES), set(CURRENCIES), all_tax_rates=dict(TAX_RATES))
        self.on_config_change()

    def on_config_change(self) -> None:
        self.identity.config = self.config
        self._minute.clear()
        self._day.clear()
        self._app = Window(int(self.config["app_calls_per_minute"] or 0), self.minute_seconds)

    @property
    def minute_seconds(self) -> float:
        return 60.0 / float(self.config.get("time_scale") or 1.0)

    def new_id(self, kind: str) -> str:
        # Deterministic ids (uuid5 of a counter) keep seeded demos and test failures reproducible.
        return str(uuid.uuid5(NAMESPACE, f"{kind}-{next(self._ids)}"))

    # --- errors ---

    def problem(self, status: int, title: str, detail: str) -> web.Response:
        body: dict[str, Any] = {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        }
        return json_response(body, status)

    def error_body(self, status: int, message: str) -> Any:
        if status == 400:
            return {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": []}
        titles = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        return {
            "Type": None,
            "Title": titles.get(status, "Error"),
            "Status": status,
            "Detail": message,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        }

    def validation(
        self, elements: list[dict[str, Any]], message: str = "A validation exception occurred"
    ) -> web.Response:
        return json_response(
            {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": elements}, 400
        )

    def not_found(self) -> web.Response:
        return self.problem(404, "Not Found", "The resource you're looking for cannot be found")

    # --- auth, tenant, limits ---

    async def admit(self, request: web.Request) -> tuple[web.StreamResponse | None, Any]:
        if not request.path.startswith(API):
            return None, lambda: None
        grant = self.identity.bearer(request)
        if grant is None:
            response = self.problem(401, "Unauthorized", "AuthenticationUnsuccessful")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response, lambda: None
        tenant = request.headers.get("xero-tenant-id", "")
        allowed = self.config.get("tenant_ids")
        connected = {c.tenant_id for c in self.identity.connections if c.chain == grant.chain}
        if not tenant or (allowed and tenant not in allowed) or (grant.chain is not None and tenant not in connected):
            return self.problem(403, "Forbidden", "AuthorizationUnsuccessful"), lambda: None
        needed = required_scopes(request.method, request.path[len(API):])
        if needed and not needed & grant.scopes:
            # Xero answers a call outside the token's scopes like any other authorisation failure.
            return self.problem(403, "Forbidden", "AuthorizationUnsuccessful"), lambda: None
        return self._limit(request, tenant)

    @property
    def calls_per_day(self) -> int:
        tier = self.config.get("tier")
        if tier is not None:
            return {"starter": 1000, "paid": 5000}.get(str(tier), 5000)
        return int(self.config["calls_per_day"] or 0)

    def _limit(self, request: web.Request, tenant: str) -> tuple[web.StreamResponse | None, Any]:
        minute = self._minute.setdefault(
            tenant, Window(int(self.config["calls_per_minute"] or 0), self.minute_seconds)
        )
        day = self._day.setdefault(
            tenant, Window(self.calls_per_day, self.minute_seconds * 1440)
        )
        concurrent = int(self.config["max_concurrent"] or 0)
        problem, wait = None, 0.0
        if concurrent and self._in_flight.get(tenant, 0) >= concurrent:
            problem, wait = "concurrent", 1.0
        elif day.wait() > 0:
            problem, wait = "daily", day.wait()
        elif self._app.wait() > 0:
            problem, wait = "appminute", self._app.wait()
        elif minute.wait() > 0:
            problem, wait = "minute", minute.wait()
        if problem:
            self.rate_limited[problem] = self.rate_limited.get(problem, 0) + 1
            response = json_response(
                self.error_body(429, f"Rate limit exceeded: {problem}"),
                429,
                {"Retry-After": Window.retry_after(wait), "X-Rate-Limit-Problem": problem,
                 **self._remaining(minute, day)},
            )
            return response, lambda: None
        for window in (minute, day, self._app):
            window.record()
        self._in_flight[tenant] = self._in_flight.get(tenant, 0) + 1
        request["extra_headers"] = self._remaining(minute, day)

        def release() -> None:
            self._in_flight[tenant] -= 1

        return None, release

    def _remaining(self, minute: Window, day: Window) -> dict[str, str]:
        return {
            "X-MinLimit-Remaining": str(minute.remaining()),
            "X-DayLimit-Remaining": str(day.remaining()),
            "X-AppMinLimit-Remaining": str(self._app.remaining()),
        }

    # --- routes ---

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/connect/token", self.identity_token)
        r.add_get("/identity/connect/authorize", self.identity_authorize)
        r.add_post("/connect/revocation", self.identity_revocation)
        r.add_get("/connections", self.identity_connections)
        r.add_get("/Connections", self.identity_connections)  # Xero's paths ignore case; its SDK writes this
        r.add_post("/_sim/xero/revoke-connections", self.identity_admin_revoke)
        r.add_get(f"{API}/Contacts", self.get_contacts)
        r.add_put(f"{API}/Contacts", self.put_contacts)
        r.add_get(f"{API}/Contacts/{{id}}", self.get_contact)
        r.add_post(f"{API}/Contacts/{{id}}", self.post_contact)
        r.add_get(f"{API}/Invoices", self.get_invoices)
        r.add_put(f"{API}/Invoices", self.put_invoices)
        r.add_get(f"{API}/Invoices/{{id}}", self.get_invoice)
        r.add_post(f"{API}/Invoices/{{id}}", self.post_invoice)
        r.add_get(f"{API}/Invoices/{{id}}/OnlineInvoice", self.online_invoice)
        r.add_get(f"{API}/Organisation", self.organisation)
        add_org_routes(r, API, self)
        r.add_post("/_sim/xero/expire-tokens", self.admin_expire_tokens)
        r.add_post("/_sim/xero/invoices/{id}/pay", self.admin_pay)
        r.add_post("/_sim/xero/invoices/{id}/status", self.admin_set_status)
        r.add_post("/_sim/webhooks", self.admin_webhooks)
        r.add_post("/_sim/webhooks/send", self.admin_send_webhooks)
        r.add_post("/_sim/webhooks/intent", self.admin_intent)
        r.add_get("/_sim/xero/online/{id}", self.online_page)

    def envelope(self, key: str, items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "Invoice sync simulator",
            "DateTimeUTC": ms_now(),
            **extra,
            key: items,
        }

    def ok(self, key: str, items: list[dict[str, Any]], **extra: Any) -> web.Response:
        return json_response(self.envelope(key, items, **extra))

    async def idempotent(self, request: web.Request, create: Any) -> web.Response:
        """Run ``create`` once per Idempotency-Key and tenant; replay its answer afterwards."""
        return await self.idempotency.once(
            request,
            request.headers.get("xero-tenant-id", ""),
            create,
            lambda: self.validation([], "Idempotency-Key must be 128 characters or fewer"),
        )

    # --- identity (delegated: ``reset_state`` replaces the Identity object) ---

    async def identity_token(self, request: web.Request) -> web.Response:
        return await self.identity.token(request)

    async def identity_authorize(self, request: web.Request) -> web.Response:
        return await self.identity.authorize(request)

    async def identity_revocation(self, request: web.Request) -> web.Response:
        return await self.identity.revocation(request)

    async def identity_connections(self, request: web.Request) -> web.Response:
        return await self.identity.list_connections(request)

    async def identity_admin_revoke(self, request: web.Request) -> web.Response:
        return await self.identity.admin_revoke(request)

    # --- contacts ---

    def render_contact(self, c: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in c.items() if v is not None}
        out.update(
            Addresses=[],
            Phones=[],
            ContactGroups=[],
            ContactPersons=[],
            HasValidationErrors=False,
            IsSupplier=False,
            IsCustomer=bool(c.get("_invoiced")),
        )
        out.pop("_invoiced", None)
        return out

    def _page(
        self, request: web.Request, items: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        if "page" not in request.query:
            return items, {}
        page = max(1, int(request.query.get("page", "1")))
        size = min(max(1, int(request.query.get("pageSize", "100"))), 1000)
        chunk = items[(page - 1) * size : page * size]
        count = len(items)
        return chunk, {
            "pagination": {"page": page, "pageSize": size, "pageCount": -(-count // size), "itemCount": count}
        }

    async def get_contacts(self, request: web.Request) -> web.Response:
        items = list(self.contacts.values())
        if request.query.get("includeArchived", "").lower() != "true":
            items = [c for c in items if c["ContactStatus"] != "ARCHIVED"]
        where = request.query.get("where")
        if where:
            try:
                predicate = compile_where(where)
            except WhereError as exc:
                return self.validation([], str(exc))
            items = [c for c in items if predicate(c)]
        term = request.query.get("searchTerm", "").lower()
        if term:
            items = [
                c
                for c in items
                if any(
                    term in str(c.get(f) or "").lower()
                    for f in (
                        "Name",
                        "FirstName",
                        "LastName",
                        "EmailAddress",
                        "ContactNumber",
                        "CompanyNumber",
                    )
                )
            ]
        items.sort(key=lambda c: str(c.get("Name", "")).lower())
        chunk, extra = self._page(request, items)
        return self.ok("Contacts", [self.render_contact(c) for c in chunk], **extra)

    def check_contact(self, data: dict[str, Any], existing_id: str | None = None) -> list[str]:
        errors = []
        name = data.get("Name")
        if existing_id is None and not name:
            errors.append("The contact name must be specified.")
        if name and len(str(name)) > 255:
            errors.append("The contact name must be 255 characters or fewer.")
        if data.get("ContactNumber") and len(str(data["ContactNumber"])) > 50:
            errors.append("The Contact Number must be 50 characters or fewer.")
        status = data.get("ContactStatus")
        if status is not None and status not in ("ACTIVE", "ARCHIVED"):
            errors.append(f"ContactStatus {status} is not valid.")
        if name and (status or "ACTIVE") == "ACTIVE":
            for other in self.contacts.values():
                if (
                    other["ContactID"] != existing_id
                    and other["ContactStatus"] == "ACTIVE"
                    and str(other.get("Name", "")).lower() == str(name).lower()
                ):
                    errors.append(
                        f"The contact name {name} is already assigned to another contact. The contact "
                        "name must be unique across all active contacts."
                    )
        return errors

    def store_contact(self, data: dict[str, Any]) -> dict[str, Any]:
        contact = {"ContactID": self.new_id("contact"), "ContactStatus": "ACTIVE", "UpdatedDateUTC": ms_now()}
        for field in (
            "Name",
            "ContactNumber",
            "FirstName",
            "LastName",
            "EmailAddress",
            "AccountNumber",
            "CompanyNumber",
            "TaxNumber",
            "DefaultCurrency",
        ):
            if data.get(field) is not None:
                contact[field] = str(data[field])
        self.contacts[contact["ContactID"]] = contact
        return contact

    async def put_contacts(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        summarize = request.query.get("summarizeErrors", "true").lower() != "false"

        async def create() -> web.Response:
            items = body.get("Contacts") if isinstance(body, dict) else None
            if not isinstance(items, list) or not items:
                return self.validation([], "No contacts were provided")
            results, failed = [], False
            for data in items:
                errors = self.check_contact(data)
                if errors:
                    failed = True
                    results.append(
                        {
                            **data,
                            "HasValidationErrors": True,
                            "ValidationErrors": [{"Message": m} for m in errors],
                        }
                    )
                elif not summarize:
                    results.append(self.render_contact(self.store_contact(data)))
                else:
                    results.append(data)
            if summarize:
                if failed:
                    return self.validation([r for r in results if r.get("HasValidationErrors")])
                results = [self.render_contact(self.store_contact(d)) for d in items]
            return self.ok("Contacts", results)

        return await self.idempotent(request, create)

    async def get_contact(self, request: web.Request) -> web.Response:
        contact = self.contacts.get(request.match_info["id"])
        if contact is None:
            number = request.match_info["id"]
            contact = next((c for c in self.contacts.values() if c.get("ContactNumber") == number), None)
        if contact is None:
            return self.not_found()
        return self.ok("Contacts", [self.render_contact(contact)])

    async def post_contact(self, request: web.Request) -> web.Response:
        contact = self.contacts.get(request.match_info["id"])
        if contact is None:
            return self.not_found()
        body = await read_json(request) or {}

        async def update() -> web.Response:
            items = body.get("Contacts") if isinstance(body, dict) else None
            if not isinstance(items, list) or len(items) != 1:
                return self.validation([], "Exactly one contact must be provided")
            data = items[0]
            errors = self.check_contact({**contact, **data}, existing_id=contact["ContactID"])
            if errors:
                return self.validation([{**data, "ValidationErrors": [{"Message": m} for m in errors]}])
            for field in ("Name", "ContactNumber", "FirstName", "LastName", "EmailAddress", "ContactStatus"):
                if data.get(field) is not None:
                    contact[field] = str(data[field])
            contact["UpdatedDateUTC"] = ms_now()
            return self.ok("Contacts", [self.render_contact(contact)])

        return await self.idempotent(request, update)

    # --- invoices ---

    def render_invoice(self, inv: dict[str, Any]) -> dict[str, Any]:
        contact = self.contacts.get(inv["ContactID"], {})
        out = {k: v for k, v in inv.items() if not k.startswith("_") and k != "ContactID" and v is not None}
        out["Contact"] = {
            "ContactID": inv["ContactID"],
            "Name": contact.get("Name", ""),
            "ContactStatus": contact.get("ContactStatus", "ACTIVE"),
            "Addresses": [],
            "Phones": [],
            "ContactGroups": [],
            "ContactPersons": [],
            "HasValidationErrors": False,
        }
        if contact.get("ContactNumber"):
            out["Contact"]["ContactNumber"] = contact["ContactNumber"]
        out["Date"] = ms_date(inv["_date"])
        out["DateString"] = inv["_date"].isoformat() + "T00:00:00"
        out["DueDate"] = ms_date(inv["_due"])
        out["DueDateString"] = inv["_due"].isoformat() + "T00:00:00"
        if inv.get("_paid_on"):
            out["FullyPaidOnDate"] = ms_date(inv["_paid_on"])
        out["AmountDue"] = (
            money(inv["Total"] - inv["AmountPaid"])
            if inv["Status"] not in ("VOIDED", "DELETED")
            else Decimal("0.00")
        )
        return out

    def render_rejected(self, data: dict[str, Any]) -> dict[str, Any]:
        """A refused invoice as Xero answers it: its fields in Xero's own forms, not an echo of the request."""
        out: dict[str, Any] = {k: v for k, v in data.items() if k not in ("LineItems", "Date", "DueDate")}
        out["InvoiceID"] = "00000000-0000-0000-0000-000000000000"
        for field in ("Date", "DueDate"):
            try:
                day = parse_date(data.get(field))
            except ValueError:
                day = None
            if day is not None:
                out[field], out[f"{field}String"] = ms_date(day), day.isoformat() + "T00:00:00"
        out["Status"] = str(data.get("Status") or "DRAFT")
        out["LineItems"] = []
        return out

    def check_invoice(self, data: dict[str, Any], unitdp: int = 2) -> tuple[list[str], dict[str, Any] | None]:
        """Validate one invoice of a PUT; return (messages, a record ready to store).

        ``unitdp`` is the request's ``unitdp`` query parameter: unit prices are kept to 4 decimals with 4, else 2.
        """
        errors: list[str] = []
        if data.get("Type") not in ("ACCREC", "ACCPAY"):
            errors.append("Invoice Type must be ACCREC or ACCPAY.")
        contact_id = str((data.get("Contact") or {}).get("ContactID") or "")
        contact = self.contacts.get(contact_id)
        if contact is None:
            errors.append(
                "A Contact must be specified for this type of transaction."
                if not contact_id
                else f"The contact with ContactID {contact_id} does not exist."
            )
        elif contact["ContactStatus"] == "ARCHIVED":
            errors.append("The contact is archived; archived contacts cannot be used on new transactions.")
        status = data.get("Status", "DRAFT")
        if status not in INVOICE_STATUSES:
            errors.append(f"Invoice Status {status} is not valid for a new invoice.")
        currency = data.get("CurrencyCode", "USD")
        if currency not in self.org.currencies:
            errors.append(f"The currency code {currency} is not subscribed for this organisation.")
        lat = data.get("LineAmountTypes", "Exclusive")
        if lat not in ("Exclusive", "Inclusive", "NoTax"):
            errors.append(f"LineAmountTypes {lat} is not valid.")
        try:
            issued = parse_date(data.get("Date")) or date.today()
            due = parse_date(data.get("DueDate")) or issued
        except ValueError:
            errors.append("Date and DueDate must be dates (YYYY-MM-DD).")
            issued = due = date.today()
        if due < issued:
            errors.append("Due Date must not be before the invoice Date.")
        number = data.get("InvoiceNumber")
        if number and any(i.get("InvoiceNumber") == number for i in self.invoices.values()):
            errors.append("Invoice # must be unique.")
        lines = data.get("LineItems") or []
        if status != "DRAFT" and not lines:
            errors.append("An invoice must have at least one line item.")
        rendered_lines, sub, tax = [], Decimal("0"), Decimal("0")
        for n, line in enumerate(lines, 1):
            try:
                qty = Decimal(str(line.get("Quantity", "1")))
                unit = Decimal(str(line.get("UnitAmount", "0")))
                disc = Decimal(str(line.get("DiscountRate") or "0"))
                disc_amount = Decimal(str(line.get("DiscountAmount") or "0"))
                given_tax = None if line.get("TaxAmount") is None else Decimal(str(line["TaxAmount"]))
            except InvalidOperation:
                errors.append(f"Line {n}: Quantity, UnitAmount, DiscountRate and DiscountAmount must be numbers.")
                continue
            if disc and disc_amount:
                errors.append(f"Line {n}: a line may have a DiscountRate or a DiscountAmount, not both.")
            if not str(line.get("Description") or "").strip():
                errors.append(f"Line {n}: Description needs to be at least 1 char long.")
            code = str(line.get("AccountCode") or "")
            if code not in self.org.account_codes:
                errors.append(f"Account code '{code}' is not a valid code for this document.")
            tax_type = str(line.get("TaxType") or "OUTPUT")
            if tax_type not in self.org.tax_rates:
                errors.append(
                    f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                    "of transaction."
                )
            if qty.as_tuple().exponent < -4:  # type: ignore[operator]
                errors.append(f"Line {n}: Quantity may have at most 4 decimal places.")
            rate = self.org.tax_rates.get(tax_type, Decimal("0")) if lat != "NoTax" else Decimal("0")
            figures = line_money(qty, unit, unitdp=unitdp, rate=rate, line_amount_types=lat, discount_rate=disc,
                                 discount_amount=disc_amount, tax_amount=given_tax)
            amount, line_tax = figures.line_amount, figures.tax
            sub += figures.net
            tax += line_tax
            rendered = {
                "LineItemID": self.new_id("line"),
                "Description": line.get("Description"),
                "Quantity": qty.quantize(Decimal("0.0001")),
                "UnitAmount": figures.unit,
                "AccountCode": code,
                "TaxType": tax_type,
                "TaxAmount": line_tax,
                "LineAmount": amount,
            }
            rendered.update(self.org.check_line(n, line, errors))
            if disc:
                rendered["DiscountRate"] = disc
            if disc_amount:
                rendered["DiscountAmount"] = money(disc_amount)
            rendered_lines.append(rendered)
        theme = self.org.check_invoice(data, errors)
        if errors:
            return errors, None
        record = {
            **theme,
            "Type": data["Type"],
            "InvoiceID": self.new_id("invoice"),
            "ContactID": contact_id,
            "InvoiceNumber": number or f"INV-{next(self._numbers):04d}",
            "Reference": data.get("Reference", ""),
            "Status": status,
            "LineAmountTypes": lat,
            "CurrencyCode": currency,
            "CurrencyRate": Decimal("1.0"),
            "LineItems": rendered_lines,
            "SubTotal": money(sub),
            "TotalTax": money(tax),
            "Total": money(sub + tax),
            "AmountPaid": Decimal("0.00"),
            "AmountCredited": Decimal("0.00"),
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasErrors": False,
            "IsDiscounted": any(ln.get("DiscountRate") or ln.get("DiscountAmount") for ln in rendered_lines),
            "HasAttachments": False,
            "SentToContact": False,
            "UpdatedDateUTC": ms_now(),
            "_date": issued,
            "_due": due,
        }
        return [], record

    async def get_invoices(self, request: web.Request) -> web.Response:
        items = sorted(self.invoices.values(), key=lambda i: i["InvoiceNumber"])
        where = request.query.get("where")
        if where:
            try:
                predicate = compile_where(where)
            except WhereError as exc:
                return self.validation([], str(exc))
            items = [i for i in items if predicate(self.render_invoice(i))]
        for param, field in (
            ("Statuses", "Status"),
            ("InvoiceNumbers", "InvoiceNumber"),
            ("IDs", "InvoiceID"),
            ("ContactIDs", "ContactID"),
        ):
            if request.query.get(param):
                wanted = {v.strip().strip('"') for v in request.query[param].split(",")}
                items = [i for i in items if i[field] in wanted]
        term = request.query.get("searchTerm", "").lower()
        if term:
            items = [i for i in items if term in i["InvoiceNumber"].lower() or term in i["Reference"].lower()]
        chunk, extra = self._page(request, items)
        return self.ok("Invoices", [self.render_invoice(i) for i in chunk], **extra)

    async def put_invoices(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        summarize = request.query.get("summarizeErrors", "true").lower() != "false"

        async def create() -> web.Response:
            items = body.get("Invoices") if isinstance(body, dict) else None
            if not isinstance(items, list) or not items:
                return self.validation([], "No invoices were provided")
            unitdp = 4 if request.query.get("unitdp") == "4" else 2
            checked = [self.check_invoice(d, unitdp) for d in items]
            if summarize and any(errors for errors, _ in checked):
                return self.validation(
                    [
                        {**d, "ValidationErrors": [{"Message": m} for m in errors]}
                        for d, (errors, _) in zip(items, checked, strict=True)
                        if errors
                    ]
                )
            results = []
            for data, (errors, record) in zip(items, checked, strict=True):
                if errors or record is None:
                    results.append(
                        {
                            **self.render_rejected(data),
                            "HasErrors": True,
                            "StatusAttributeString": "ERROR",
                            "ValidationErrors": [{"Message": m} for m in errors],
                        }
                    )
                    continue
                self.invoices[record["InvoiceID"]] = record
                if record["ContactID"] in self.contacts:
                    self.contacts[record["ContactID"]]["_invoiced"] = True
                results.append({**self.render_invoice(record), "StatusAttributeString": "OK"})
            return self.ok("Invoices", results)

        return await self.idempotent(request, create)

    def find_invoice(self, key: str) -> dict[str, Any] | None:
        found = self.invoices.get(key)
        return found or next((i for i in self.invoices.values() if i["InvoiceNumber"] == key), None)

    async def get_invoice(self, request: web.Request) -> web.Response:
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return self.not_found()
        return self.ok("Invoices", [self.render_invoice(inv)])

    def transition(self, inv: dict[str, Any], target: str) -> str | None:
        """Why ``inv`` cannot move to ``target`` (None if it can): Xero's invoice status rules."""
        current = inv["Status"]
        if current == target:
            return None
        if current in ("VOIDED", "DELETED"):
            return f"This document cannot be edited as it has been {current.lower()}."
        if inv["AmountPaid"] > 0 or current == "PAID":
            return "This document cannot be edited as it has a payment or credit note allocated to it."
        if target == "DELETED" and current not in ("DRAFT", "SUBMITTED"):
            return "Only DRAFT and SUBMITTED invoices can be deleted; void an AUTHORISED invoice instead."
        if target == "VOIDED" and current != "AUTHORISED":
            return "Only AUTHORISED invoices can be voided; delete a DRAFT or SUBMITTED invoice instead."
        if (
            target in ("DRAFT", "SUBMITTED", "AUTHORISED")
            and current == "AUTHORISED"
            and target != "AUTHORISED"
        ):
            return "An AUTHORISED invoice cannot go back to DRAFT or SUBMITTED."
        if target == "PAID":
            return "Invoice Status PAID is set by payments, not by an update."
        return None

    async def post_invoice(self, request: web.Request) -> web.Response:
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return self.not_found()
        body = await read_json(request) or {}

        async def update() -> web.Response:
            items = body.get("Invoices") if isinstance(body, dict) else None
            if not isinstance(items, list) or len(items) != 1:
                return self.validation([], "Exactly one invoice must be provided")
            data = items[0]
            errors = []
            if "Status" in data:
                reason = self.transition(inv, str(data["Status"]))
                if reason:
                    errors.append(reason)
            elif inv["Status"] in ("VOIDED", "DELETED", "PAID") and "LineItems" not in data:
                errors.append("This document cannot be edited.")
            if "LineItems" in data and not errors:
                unitdp = 4 if request.query.get("unitdp") == "4" else 2  # as on a new invoice
                errors += xero_edits.edit_lines(self, inv, data["LineItems"], unitdp)  # changes nothing when refused
            if errors:
                return self.validation(
                    [{**self.render_invoice(inv), "ValidationErrors": [{"Message": m} for m in errors]}]
                )
            if "Status" in data:
                inv["Status"] = str(data["Status"])
            if "Reference" in data:
                inv["Reference"] = str(data["Reference"])
            inv["UpdatedDateUTC"] = ms_now()
            # Xero sends an UPDATE event for every change of an invoice, the calling app's own changes included.
            await self._announce(inv, request, False)
            return self.ok("Invoices", [self.render_invoice(inv)])

        return await self.idempotent(request, update)

    async def online_invoice(self, request: web.Request) -> web.Response:
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return self.not_found()
        if inv["Status"] in ("DRAFT", "DELETED") or inv["Type"] != "ACCREC":
            return self.validation([], "Online invoice URLs are only available for approved sales invoices.")
        url = f"{request.scheme}://{request.host}/_sim/xero/online/{inv['InvoiceID']}"
        return self.ok("OnlineInvoices", [{"OnlineInvoiceUrl": url}])

    async def online_page(self, request: web.Request) -> web.Response:
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return web.Response(status=404, text="not found")
        text = (
            f"<html><body><h1>Invoice {inv['InvoiceNumber']}</h1><p>{inv['CurrencyCode']} {inv['Total']}"
            f" &middot; {inv['Status']}</p></body></html>"
        )
        return web.Response(text=text, content_type="text/html")

    async def organisation(self, request: web.Request) -> web.Response:
        org = {
            "OrganisationID": str(uuid.uuid5(NAMESPACE, "org")),
            "Name": self.config["organisation"],
            "BaseCurrency": "USD",
            "CountryCode": "US",
            "OrganisationType": "COMPANY",
        }
        return self.ok("Organisations", [org])

    # --- admin ---

    async def admin_expire_tokens(self, request: web.Request) -> web.Response:
        count = len(self.identity.access)
        self.identity.access.clear()
        return json_response({"expired": count})

    async def admin_pay(self, request: web.Request) -> web.Response:
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return json_response({"error": "no such invoice"}, 404)
        if inv["Status"] != "AUTHORISED":
            return json_response(
                {"error": f"only AUTHORISED invoices can be paid (this one is {inv['Status']})"}, 400
            )
        body = await read_json(request) or {}
        due = inv["Total"] - inv["AmountPaid"]
        amount = money(Decimal(str(body.get("amount", due))))
        if not 0 < amount <= due:
            return json_response({"error": f"amount must be in (0, {due}]"}, 400)
        paid_on = date.fromisoformat(body["date"]) if body.get("date") else date.today()
        inv["Payments"].append(
            {
                "PaymentID": self.new_id("payment"),
                "Date": ms_date(paid_on),
                "Amount": amount,
                "CurrencyRate": Decimal("1.0"),
                "HasAccount": False,
                "HasValidationErrors": False,
            }
        )
        inv["AmountPaid"] = money(inv["AmountPaid"] + amount)
        if inv["AmountPaid"] >= inv["Total"]:
            inv["Status"] = "PAID"
            inv["_paid_on"] = paid_on
        inv["UpdatedDateUTC"] = ms_now()
        delivery = None
        if self.config.get("webhook_url") and self.config.get("webhook_key"):
            event = self.event("INVOICE", "UPDATE", inv["InvoiceID"], request)
            if body.get("wait_for_webhook"):
                delivery = await self.send_events([event])
            else:
                self.spawn(self.send_events([event]))
        return json_response({"invoice": self.render_invoice(inv), "webhook": delivery})

    async def admin_set_status(self, request: web.Request) -> web.Response:
        """A person voids or deletes the invoice in the Xero app (not through this API's caller)."""
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return json_response({"error": "no such invoice"}, 404)
        body = await read_json(request) or {}
        target = str(body.get("status", ""))
        if target not in ("VOIDED", "DELETED"):
            return json_response({"error": "status must be VOIDED or DELETED"}, 400)
        reason = self.transition(inv, target)
        if reason:
            return json_response({"error": reason}, 400)
        inv["Status"] = target
        inv["UpdatedDateUTC"] = ms_now()
        delivery = await self._announce(inv, request, bool(body.get("wait_for_webhook")))
        return json_response({"invoice": self.render_invoice(inv), "webhook": delivery})

    async def _announce(self, inv: dict[str, Any], request: web.Request, wait: bool) -> dict[str, Any] | None:
        """Send the invoice's UPDATE event where a webhook is configured (at once when ``wait``)."""
        if not (self.config.get("webhook_url") and self.config.get("webhook_key")):
            return None
        event = self.event("INVOICE", "UPDATE", inv["InvoiceID"], request)
        if wait:
            return await self.send_events([event])
        self.spawn(self.send_events([event]))
        return None

    def event(
        self,
        category: str,
        kind: str,
        resource_id: str,
        request: web.Request | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        path = "Invoices" if category == "INVOICE" else "Contacts"
        tenants = self.config.get("tenant_ids") or []
        return {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/{path}/{resource_id}",
            "resourceId": resource_id,
            "eventDateUtc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            "eventType": kind,
            "eventCategory": category,
            "tenantId": tenant or (tenants[0] if tenants else str(uuid.uuid5(NAMESPACE, "tenant"))),
            "tenantType": "ORGANISATION",
        }

    async def send_events(
        self,
        events: list[dict[str, Any]],
        url: str | None = None,
        key: str | None = None,
        bad_signature: bool = False,
    ) -> dict[str, Any]:
        url = url or self.config.get("webhook_url")
        key = key or self.config.get("webhook_key")
        if not url or not key:
            return {"error": "no webhook target configured"}
        first = next(self._event_seq) if events else 0
        last = first + max(0, len(events) - 1)
        for _ in events[1:]:
            next(self._event_seq)
        payload = {
            "events": events,
            "firstEventSequence": first,
            "lastEventSequence": last,
            "entropy": secrets.token_hex(10).upper(),
        }
        body = json.dumps(payload).encode()
        headers = xero_headers(str(key) + ("x" if bad_signature else ""), body)
        attempts = 1 if bad_signature or not events else 3
        outcome = await deliver(str(url), lambda attempt: (body, headers), attempts=attempts)
        outcome["payload"] = payload
        self.deliveries.append(outcome)
        return outcome

    async def admin_webhooks(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        self.config["webhook_url"] = body.get("url")
        self.config["webhook_key"] = body.get("key") or body.get("secret")
        return json_response(
            {"url": self.config["webhook_url"], "configured": bool(self.config["webhook_key"])}
        )

    async def admin_send_webhooks(self, request: web.Request) -> web.Response:
        body = await read_json(request) or {}
        events = [
            self.event(
                e.get("eventCategory", "INVOICE"),
                e.get("eventType", "UPDATE"),
                e["resourceId"],
                tenant=e.get("tenantId"),
            )
            | e
            for e in body.get("events") or []
        ]
        outcome = await self.send_events(events, body.get("url"), body.get("key"))
        return json_response(outcome, 400 if "payload" not in outcome else 200)

    async def admin_intent(self, request: web.Request) -> web.Response:
        """Xero's intent-to-receive check: a signed and a badly signed empty payload; 200 then 401 passes."""
        body = await read_json(request) or {}
        good = await self.send_events([], body.get("url"), body.get("key"))
        bad = await self.send_events([], body.get("url"), body.get("key"), bad_signature=True)
        passed = good.get("status") == 200 and not good.get("response_text") and bad.get("status") == 401
        return json_response(
            {"passed": passed, "signed": good.get("status"), "badly_signed": bad.get("status")}
        )

    # --- state ---

    def snapshot(self) -> dict[str, Any]:
        return {
            "contacts": [self.render_contact(dict(c)) for c in self.contacts.values()],
            "invoices": [self.render_invoice(i) for i in self.invoices.values()],
            "idempotency_keys": self.idempotency.snapshot(),
            **self.identity.snapshot(),
            "calls_per_day": self.calls_per_day,
            "rate_limited": dict(self.rate_limited),
            "webhook_deliveries": self.deliveries,
            **self.org.snapshot(),
        }

    def seed(self, name: str, options: dict[str, Any]) -> dict[str, Any]:
        if name != "demo":
            raise ValueError(f"unknown seed {name!r} (known: demo)")
        return seed_data.seed_xero(self)
