"""The Xero simulator's in-memory organisation: contacts, invoices, ids, and Xero's answer shapes."""

from __future__ import annotations

import itertools
import random
import uuid
from decimal import Decimal
from typing import Any

from aiohttp import web

from simulators.base import SimServer
from simulators.idempotency import ReplayStore
from simulators.ratelimit import Window
from simulators.wire import json_response
from simulators.xero.batch_settings import BATCH_DEFAULTS
from simulators.xero.identity import Identity
from simulators.xero.money import money
from simulators.xero.org import OrgState
from simulators.xero.schema import ACCOUNT_CODES, CURRENCIES, NAMESPACE, TAX_RATES, ms_date, ms_now, parse_date

__all__ = ["XeroStore"]


class XeroStore(SimServer):
    """The organisation's data, how Xero renders it and answers with it; the handlers are ``XeroSim``'s mixins."""

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
        **BATCH_DEFAULTS,  # size cap, batch latency, answer order, IDs= cap, high volume: see batching.py
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
        self._shuffler: random.Random | None = None  # made on first use from shuffle_seed
        self.org = OrgState(dict(TAX_RATES), set(ACCOUNT_CODES), set(CURRENCIES), all_tax_rates=dict(TAX_RATES))
        self.on_config_change()

    def on_config_change(self) -> None:
        self.identity.config = self.config
        self._minute.clear()
        self._day.clear()
        self._app = Window(int(self.config["app_calls_per_minute"] or 0), self.minute_seconds)
        self._shuffler = None  # a new shuffle_seed starts a new sequence

    @property
    def minute_seconds(self) -> float:
        return 60.0 / float(self.config.get("time_scale") or 1.0)

    def new_id(self, kind: str) -> str:
        # Deterministic ids (uuid5 of a counter) keep seeded demos and test failures reproducible.
        return str(uuid.uuid5(NAMESPACE, f"{kind}-{next(self._ids)}"))

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
            413: "Payload Too Large",
            414: "URI Too Long",
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

    def find_invoice(self, key: str) -> dict[str, Any] | None:
        found = self.invoices.get(key)
        return found or next((i for i in self.invoices.values() if i["InvoiceNumber"] == key), None)

    @property
    def calls_per_day(self) -> int:
        tier = self.config.get("tier")
        if tier is not None:
            return {"starter": 1000, "paid": 5000}.get(str(tier), 5000)
        return int(self.config["calls_per_day"] or 0)

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
