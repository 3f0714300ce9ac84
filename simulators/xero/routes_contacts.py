"""Xero's contact endpoints: list (IDs, where, searchTerm, pages), create, update-or-create, read and update."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.wire import read_json
from simulators.xero.batching import XeroBatching
from simulators.xero.schema import ms_now
from simulators.xero.validation import XeroValidation
from simulators.xero.where import WhereError, compile_where

__all__ = ["ContactRoutes"]


UPDATABLE = ("Name", "ContactNumber", "FirstName", "LastName", "EmailAddress", "ContactStatus")


class ContactRoutes(XeroValidation, XeroBatching):
    """The handlers of ``/api.xro/2.0/Contacts``."""

    async def get_contacts(self, request: web.Request) -> web.Response:
        items = list(self.contacts.values())
        ids = self.ids_filter(request)
        if isinstance(ids, web.Response):
            return ids
        if ids is not None:
            items = [c for c in items if c["ContactID"].lower() in ids]
        if request.query.get("includeArchived", "").lower() != "true":
            items = [c for c in items if c["ContactStatus"] != "ARCHIVED"]
        where = request.query.get("where")
        if where:
            refused = self.high_volume(where)
            if refused is not None:
                return refused
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
        return await self._contact_collection(request, updates=False)

    async def post_contacts(self, request: web.Request) -> web.Response:
        """Update-or-create: an element with a ContactID updates that contact (bulk archive), others are new."""
        return await self._contact_collection(request, updates=True)

    async def _contact_collection(self, request: web.Request, updates: bool) -> web.Response:
        refused = await self.too_large(request)
        if refused is not None:
            return refused
        body = await read_json(request) or {}
        summarize = request.query.get("summarizeErrors", "true").lower() != "false"

        async def write() -> web.Response:
            items = body.get("Contacts") if isinstance(body, dict) else None
            if not isinstance(items, list) or not items:
                return self.validation([], "No contacts were provided")
            await self.batch_latency(len(items))
            # One element after the other, as Xero does: a name taken earlier in the same request clashes too.
            results = [self._contact_element(data, updates) for data in items]
            return self.answer_elements("Contacts", results, summarize)

        return await self.idempotent(request, write)

    def _contact_element(self, data: Any, updates: bool) -> dict[str, Any]:
        if not isinstance(data, dict):
            return self._contact_error({}, ["A contact must be an object."])
        contact_id = data.get("ContactID") if updates else None
        if not contact_id:
            errors = self.check_contact(data)
            if errors:
                return self._contact_error(data, errors)
            return {**self.render_contact(self.store_contact(data)), "StatusAttributeString": "OK"}
        contact = self.contacts.get(str(contact_id))
        if contact is None:  # the message is ours (unconfirmed)
            return self._contact_error(data, [f"The contact with ContactID {contact_id} does not exist."])
        errors = self.update_contact(contact, data)
        if errors:
            return self._contact_error(data, errors)
        return {**self.render_contact(contact), "StatusAttributeString": "OK"}

    @staticmethod
    def _contact_error(data: dict[str, Any], errors: list[str]) -> dict[str, Any]:
        return {**data, "HasValidationErrors": True, "StatusAttributeString": "ERROR",
                "ValidationErrors": [{"Message": m} for m in errors]}

    def update_contact(self, contact: dict[str, Any], data: dict[str, Any]) -> list[str]:
        """Apply ``data`` to a standing contact; its validation messages instead, with nothing changed."""
        errors = self.check_contact({**contact, **data}, existing_id=contact["ContactID"])
        if errors:
            return errors
        for field in UPDATABLE:
            if data.get(field) is not None:
                contact[field] = str(data[field])
        contact["UpdatedDateUTC"] = ms_now()
        return []

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
            errors = self.update_contact(contact, data)
            if errors:
                return self.validation([{**data, "ValidationErrors": [{"Message": m} for m in errors]}])
            return self.ok("Contacts", [self.render_contact(contact)])

        return await self.idempotent(request, update)
