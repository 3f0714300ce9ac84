"""Xero's invoice endpoints: list, create, update-or-create, read, update (status, reference, lines), online invoice."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from simulators.wire import read_json
from simulators.xero import edits
from simulators.xero.batching import XeroBatching
from simulators.xero.events import XeroEvents
from simulators.xero.schema import NAMESPACE, ms_now
from simulators.xero.validation import XeroValidation
from simulators.xero.where import WhereError, compile_where

__all__ = ["InvoiceRoutes"]


class InvoiceRoutes(XeroValidation, XeroEvents, XeroBatching):
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
        return await self._invoice_collection(request, updates=False)

    async def post_invoices(self, request: web.Request) -> web.Response:
        """Update-or-create: an element with an InvoiceID updates that invoice (bulk void), others are new."""
        return await self._invoice_collection(request, updates=True)

    async def _invoice_collection(self, request: web.Request, updates: bool) -> web.Response:
        refused = await self.too_large(request)
        if refused is not None:
            return refused
        body = await read_json(request) or {}
        summarize = request.query.get("summarizeErrors", "true").lower() != "false"
        unitdp = 4 if request.query.get("unitdp") == "4" else 2

        async def write() -> web.Response:
            items = body.get("Invoices") if isinstance(body, dict) else None
            if not isinstance(items, list) or not items:
                return self.validation([], "No invoices were provided")
            await self.batch_latency(len(items))
            results = []
            created: list[str] = []
            for data in items:
                result, changed = self._invoice_element(data, unitdp, updates)
                results.append(result)
                if changed is not None:
                    await self._announce(changed, request, False)  # Xero sends UPDATE for the app's own changes
                elif result["StatusAttributeString"] == "OK":
                    created.append(str(result["InvoiceID"]))
            # Xero sends a CREATE event for every invoice made through the API too, the caller's own included
            # (in one delivery here): a receiver that reads each one back spends a call per invoice for nothing.
            self.announce_created(created, request)
            if summarize:  # the summarized 400 echoes the refused elements as they were sent
                results = [r if r["StatusAttributeString"] == "OK" else {**data, **self._errors_of(r)}
                           for data, r in zip(items, results, strict=True)]
            return self.answer_elements("Invoices", results, summarize)

        return await self.idempotent(request, write)

    def _invoice_element(
        self, data: Any, unitdp: int, updates: bool
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """One element's answer, and the invoice it changed (for its UPDATE event; None for a new one)."""
        if not isinstance(data, dict):
            return self._invoice_error({}, ["An invoice must be an object."]), None
        invoice_id = data.get("InvoiceID") if updates else None
        if invoice_id:
            inv = self.invoices.get(str(invoice_id))
            if inv is None:  # the message is ours (unconfirmed)
                return self._invoice_error(data, [f"The invoice with InvoiceID {invoice_id} does not exist."]), None
            errors = self.update_invoice(inv, data, unitdp)
            if errors:
                return self._invoice_error(self.render_invoice(inv), errors), None
            return {**self.render_invoice(inv), "StatusAttributeString": "OK"}, inv
        errors, record = self.check_invoice(data, unitdp)
        if errors or record is None:
            return self._invoice_error(self.render_rejected(data), errors), None
        self.invoices[record["InvoiceID"]] = record
        if record["ContactID"] in self.contacts:
            self.contacts[record["ContactID"]]["_invoiced"] = True
        return {**self.render_invoice(record), "StatusAttributeString": "OK"}, None

    @staticmethod
    def _invoice_error(rendered: dict[str, Any], errors: list[str]) -> dict[str, Any]:
        return {**rendered, "HasErrors": True, "StatusAttributeString": "ERROR",
                "ValidationErrors": [{"Message": m} for m in errors]}

    @staticmethod
    def _errors_of(result: dict[str, Any]) -> dict[str, Any]:
        return {"StatusAttributeString": "ERROR", "ValidationErrors": result["ValidationErrors"]}

    def update_invoice(self, inv: dict[str, Any], data: dict[str, Any], unitdp: int) -> list[str]:
        """Apply ``data`` (Status, Reference, LineItems) to a standing invoice; its messages instead, unchanged."""
        errors = []
        if "Status" in data:
            reason = self.transition(inv, str(data["Status"]))
            if reason:
                errors.append(reason)
        elif inv["Status"] in ("VOIDED", "DELETED", "PAID") and "LineItems" not in data:
            errors.append("This document cannot be edited.")
        if "LineItems" in data and not errors:
            errors += edits.edit_lines(self, inv, data["LineItems"], unitdp)  # changes nothing when refused
        if errors:
            return errors
        if "Status" in data:
            inv["Status"] = str(data["Status"])
        if "Reference" in data:
            inv["Reference"] = str(data["Reference"])
        inv["UpdatedDateUTC"] = ms_now()
        return []

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
            unitdp = 4 if request.query.get("unitdp") == "4" else 2  # as on a new invoice
            errors = self.update_invoice(inv, data, unitdp)
            if errors:
                return self.validation(
                    [{**self.render_invoice(inv), "ValidationErrors": [{"Message": m} for m in errors]}]
                )
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
