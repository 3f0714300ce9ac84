"""Xero's invoice endpoints: list, create, read, update (status, reference, lines), online invoice."""

from __future__ import annotations

import uuid

from aiohttp import web

from simulators.wire import read_json
from simulators.xero import edits
from simulators.xero.events import XeroEvents
from simulators.xero.schema import NAMESPACE, ms_now
from simulators.xero.validation import XeroValidation
from simulators.xero.where import WhereError, compile_where

__all__ = ["InvoiceRoutes"]


class InvoiceRoutes(XeroValidation, XeroEvents):
    """The handlers of ``/api.xro/2.0/Invoices`` and ``/Organisation``, and the online invoice page."""

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
                # GUIDs match whatever their letters' case, as Xero's do
                fold = str.lower if field.endswith("ID") else str
                wanted = {fold(v.strip().strip('"')) for v in request.query[param].split(",")}
                items = [i for i in items if fold(i[field]) in wanted]
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
            created: list[str] = []
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
                created.append(record["InvoiceID"])
            # Xero sends a CREATE event for every invoice made through the API too, the caller's own included
            # (in one delivery here): a receiver that reads each one back spends a call per invoice for nothing.
            self.announce_created(created, request)
            return self.ok("Invoices", results)

        return await self.idempotent(request, create)

    async def get_invoice(self, request: web.Request) -> web.Response:
        inv = self.find_invoice(request.match_info["id"])
        if inv is None:
            return self.not_found()
        return self.ok("Invoices", [self.render_invoice(inv)])

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
                errors += edits.edit_lines(self, inv, data["LineItems"], unitdp)  # changes nothing when refused
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
