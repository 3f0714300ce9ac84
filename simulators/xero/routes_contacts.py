"""Xero's contact endpoints: list (where, searchTerm, pages), create, read and update."""

from __future__ import annotations

from aiohttp import web

from simulators.wire import read_json
from simulators.xero.schema import ms_now
from simulators.xero.validation import XeroValidation
from simulators.xero.where import WhereError, compile_where

__all__ = ["ContactRoutes"]


class ContactRoutes(XeroValidation):
    """The handlers of ``/api.xro/2.0/Contacts``."""

    async def get_contacts(self, request: web.Request) -> web.Response:
        items = list(self.contacts.values())
        if request.query.get("includeArchived", "").lower() != "true":
            items = [c for c in items if c["ContactStatus"] != "ARCHIVED"]
        if request.query.get("IDs"):  # Xero's optimised filter: a comma-separated list of ContactIDs
            wanted = {i.strip().lower() for i in request.query["IDs"].split(",")}
            items = [c for c in items if c["ContactID"].lower() in wanted]
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
