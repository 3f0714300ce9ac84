"""The BatchAccountingPort over Xero: many invoices or contacts per call, each element answered on its own.

Exceptions (``shared.domain.errors``) for a failure of the whole call, as ``XeroClient``'s:

    SyncError
    ├── TransientError     429, 5xx, timeouts, connection errors (whether anything was created is unknown,
    │                      except after a 429: retry the same body with the same key)
    ├── PermanentError     413 (code ``payload_too_large``: split the batch), 403 and other 4xx
    └── BusinessRejection  a 400 of the whole request (code ``batch_rejected``): nothing was created

An element's own refusal is no exception: it is that item's ``ElementRejected`` (Xero's ValidationErrors),
and an element missing from the answer is its ``ElementUnanswered`` (it may exist).

Decisions:
- Writes go with ``summarizeErrors=false``: Xero answers 200 with each element's ``StatusAttributeString``.
  With Xero's default a single refused element makes the answer a 400 while the valid ones are created.
- Answers are matched by Reference (invoices), ContactNumber (customers) or id, never by position: Xero does
  not promise the order. Keys must be unique within one call (ValueError otherwise: a caller's bug).
- More than ``MAX_ELEMENTS`` (50, Xero's advice) or ``MAX_BODY_BYTES`` of elements split into several calls,
  in the order given; part n of a split batch sends the key ``<key>:<n>/<parts>`` (hashed when longer than
  Xero's 128 characters). The same items in the same order therefore send the same keys, and a retry after a
  later part failed replays the earlier parts' answers instead of creating again.
- Voids and archives read the current statuses first (``GET ?IDs=``, at most 50 ids: Xero's URL length), then
  send one collection POST for what is left to do. Their key is a hash of that POST's body: the same body,
  the same key; another body (a status changed meanwhile), another key.
- ``find_invoices_by_references`` sends ``Reference=="a" OR Reference=="b" ...``, an optimised Invoices filter,
  ``MAX_REFERENCES`` (40) at a time; the figure is the design's, not Xero's (unconfirmed).
- Batch writes wait ``timeout`` (default 60 s) for the answer, longer than single calls: 50 elements take time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from shared.connectors import jsonwire, xero_edits
from shared.connectors.ports import ArchiveOutcome, ElementRejected, ElementUnanswered
from shared.connectors.xero import (
    LIVE_STATUSES,
    MAX_IDEMPOTENCY_KEY,
    SERVICE,
    XeroClient,
    plan_undo,
    where_equals,
)
from shared.connectors.xero_models import XeroContact, XeroContactRef, XeroErrorBody, XeroInvoice
from shared.domain.errors import BusinessRejection, PermanentError
from shared.domain.models import Customer, CustomerRef, InvoiceDraft, InvoiceRef, UndoOutcome

__all__ = ["MAX_ELEMENTS", "MAX_IDS", "MAX_REFERENCES", "XeroBatch", "batch_key"]

MAX_ELEMENTS = 50
MAX_BODY_BYTES = 3_000_000  # under Xero's 3.5 MB a request, with room for the envelope
MAX_IDS = 50
MAX_REFERENCES = 40
BATCH_TIMEOUT = 60.0
UNANSWERED = "no element for it in Xero's answer"


def batch_key(step: str, item_keys: Iterable[str], fresh: int = 0) -> str:
    """A batch's Idempotency-Key: the step and a hash of its sorted item keys (the same items, the same key);
    ``fresh`` > 0 after a definite "nothing was created" makes a new one."""
    digest = hashlib.sha256("\n".join(sorted(item_keys)).encode()).hexdigest()
    return f"{step[:48]}:{digest}" + (f":f{fresh}" if fresh else "")


def _part_key(key: str, part: int, parts: int) -> str:
    if parts == 1:
        return key
    named = f"{key}:{part}/{parts}"
    if len(named) <= MAX_IDEMPOTENCY_KEY:
        return named
    return f"{hashlib.sha256(key.encode()).hexdigest()}:{part}/{parts}"


def _body_key(step: str, body: Any) -> str:
    return f"{step}:{hashlib.sha256(jsonwire.dumps(body)).hexdigest()}"


def _unique(keys: list[str], what: str) -> list[str]:
    seen: set[str] = set()
    for key in keys:
        if not key or key in seen:
            raise ValueError(f"every {what} of a batch must be unique and not empty: {key!r}")
        seen.add(key)
    return keys


def _parts[T](items: Sequence[T], size: Callable[[T], int], limit: int = MAX_ELEMENTS) -> list[list[T]]:
    """``items`` in order, cut into calls of at most ``limit`` elements and ``MAX_BODY_BYTES``."""
    parts: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item in items:
        cost = size(item)
        if current and (len(current) >= limit or used + cost > MAX_BODY_BYTES):
            parts.append(current)
            current, used = [], 0
        current.append(item)
        used += cost
    if current:
        parts.append(current)
    return parts


def _messages(errors: list[Any] | None) -> tuple[str, ...]:
    return tuple(e.Message for e in errors or [] if e.Message)


class XeroBatch:
    """BatchAccountingPort over a ``XeroClient`` (its token, tenant, limiter and error mapping)."""

    def __init__(self, client: XeroClient, *, timeout: float = BATCH_TIMEOUT) -> None:
        self.client = client
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"XeroBatch({self.client!r})"

    # --- plumbing ---

    def _write(self, method: str, kind: str, elements: list[dict[str, Any]], key: str,
               params: dict[str, str] | None = None) -> httpx.Response:
        response = self.client._call(
            method, f"/{kind}", params={"summarizeErrors": "false", **(params or {})}, json={kind: elements},
            idempotency_key=key, timeout=self.timeout,
        )
        self._check(response, f"{method} {len(elements)} {kind.lower()}")
        return response

    def _check(self, response: httpx.Response, what: str) -> None:
        """A refusal of the whole request: 413 (split it) and 400 (nothing created) get their own codes."""
        if response.status_code == 413:
            raise PermanentError(f"{what}: the request is too large (413)", service=SERVICE,
                                 code="payload_too_large", status=413)
        if response.status_code == 400:
            try:
                body = XeroErrorBody.model_validate(response.json())
            except (ValueError, ValidationError):
                body = XeroErrorBody(Message=response.text[:500])
            messages = body.messages()
            raise BusinessRejection(f"{what}: {'; '.join(messages) or 'rejected'}", service=SERVICE,
                                    code="batch_rejected", status=400,
                                    details={"messages": messages, "type": body.Type or ""})

    @staticmethod
    def _complete[R](keys: list[str], found: dict[str, R]) -> dict[str, R | ElementUnanswered]:
        return {k: found[k] if k in found else ElementUnanswered(reason=UNANSWERED) for k in keys}

    # --- creates ---

    def create_invoices(
        self, drafts: Sequence[InvoiceDraft], idempotency_key: str
    ) -> dict[str, InvoiceRef | ElementRejected | ElementUnanswered]:
        """Create the drafts' invoices, ``MAX_ELEMENTS`` per call; results keyed by reference."""
        references = _unique([d.reference for d in drafts], "reference")
        wired = [(d, _invoice_wire(d)) for d in drafts]
        parts = _parts(wired, lambda pair: len(jsonwire.dumps(pair[1])))
        found: dict[str, InvoiceRef | ElementRejected] = {}
        for n, part in enumerate(parts, 1):
            # unitdp=4 keeps a 4-decimal unit price; 2-decimal ones are the same either way.
            precision = {"unitdp": "4"} if any(xero_edits.precision(d) for d, _ in part) else {}
            response = self._write("PUT", "Invoices", [w for _, w in part],
                                   _part_key(idempotency_key, n, len(parts)), precision)
            wanted = {d.reference for d, _ in part}
            for invoice in self.client._invoices(response, f"create {len(part)} invoices"):
                if (invoice.Reference or "") in wanted:
                    found[invoice.Reference or ""] = self._invoice_result(invoice)
        return self._complete(references, found)

    def _invoice_result(self, invoice: XeroInvoice) -> InvoiceRef | ElementRejected:
        messages = _messages(invoice.ValidationErrors)
        if invoice.HasErrors or messages or not invoice.InvoiceID:
            return ElementRejected(messages=messages or ("rejected",))
        return self.client._invoice_ref(invoice)

    def create_customers(
        self, customers: Sequence[Customer], idempotency_key: str
    ) -> dict[str, CustomerRef | ElementRejected | ElementUnanswered]:
        """Create the customers' contacts, ``MAX_ELEMENTS`` per call; results keyed by external id."""
        numbers = _unique([c.external_id for c in customers], "external id")
        wired = [_contact_wire(c) for c in customers]
        parts = _parts(wired, lambda w: len(jsonwire.dumps(w)))
        found: dict[str, CustomerRef | ElementRejected] = {}
        for n, part in enumerate(parts, 1):
            response = self._write("PUT", "Contacts", part, _part_key(idempotency_key, n, len(parts)))
            wanted = {str(w["ContactNumber"]) for w in part}
            for contact in self.client._contacts(response, f"create {len(part)} contacts"):
                number = contact.ContactNumber or ""
                if number in wanted:
                    found[number] = self._customer_result(contact)
        return self._complete(numbers, found)

    def _customer_result(self, contact: XeroContact) -> CustomerRef | ElementRejected:
        messages = _messages(contact.ValidationErrors)
        if contact.HasValidationErrors or messages or not contact.ContactID:
            return ElementRejected(messages=messages or ("rejected",))
        return self.client._customer_ref(contact)

    # --- undos ---

    def void_invoices(self, invoice_ids: Sequence[str]) -> dict[str, UndoOutcome | ElementRejected | ElementUnanswered]:
        """Undo the invoices (void, or delete a draft) as ``XeroClient.undo_invoice`` does, 50 per read and write."""
        ids = _unique(list(invoice_ids), "invoice id")
        results: dict[str, UndoOutcome | ElementRejected | ElementUnanswered] = {}
        for part in _parts(ids, lambda _: 0, MAX_IDS):
            standing = {i.InvoiceID: i for i in self._read("Invoices", part) if i.InvoiceID}
            plan: dict[str, UndoOutcome] = {}
            for invoice_id in part:
                invoice = standing.get(invoice_id)
                decided = plan_undo(invoice_id, invoice)
                if isinstance(decided, BusinessRejection):  # paid: this invoice alone needs a person
                    results[invoice_id] = ElementRejected(messages=(decided.message,), code=decided.code)
                elif decided in ("voided", "deleted"):
                    plan[invoice_id] = decided
                else:
                    results[invoice_id] = decided
            if plan:
                body = [{"InvoiceID": i, "Status": "VOIDED" if o == "voided" else "DELETED"} for i, o in plan.items()]
                response = self._write("POST", "Invoices", body, _body_key("void", body))
                answered = {i.InvoiceID: i for i in self.client._invoices(response, "undo invoices") if i.InvoiceID}
                for invoice_id, outcome in plan.items():
                    results[invoice_id] = _written(answered.get(invoice_id), outcome)
        return {i: results[i] for i in ids}

    def archive_customers(
        self, customer_ids: Sequence[str]
    ) -> dict[str, ArchiveOutcome | ElementRejected | ElementUnanswered]:
        """Archive the contacts (already archived or unknown: done), 50 per read and write."""
        ids = _unique(list(customer_ids), "customer id")
        results: dict[str, ArchiveOutcome | ElementRejected | ElementUnanswered] = {}
        for part in _parts(ids, lambda _: 0, MAX_IDS):
            standing = {c.ContactID: c for c in self._read("Contacts", part) if c.ContactID}
            todo = [i for i in part if i in standing and standing[i].ContactStatus != "ARCHIVED"]
            for contact_id in part:
                if contact_id not in todo:
                    results[contact_id] = "already_gone" if contact_id in standing else "absent"
            if todo:
                body = [{"ContactID": i, "ContactStatus": "ARCHIVED"} for i in todo]
                response = self._write("POST", "Contacts", body, _body_key("archive", body))
                answered = {c.ContactID: c for c in self.client._contacts(response, "archive contacts") if c.ContactID}
                for contact_id in todo:
                    results[contact_id] = _archived(answered.get(contact_id))
        return {i: results[i] for i in ids}

    def _read(self, kind: str, ids: list[str]) -> list[Any]:
        params = {"IDs": ",".join(ids)}
        if kind == "Contacts":
            params["includeArchived"] = "true"  # an archived contact is one already undone, not an absent one
            return self.client._contacts(self.client._call("GET", "/Contacts", params=params), "contacts by id")
        return self.client._invoices(self.client._call("GET", "/Invoices", params=params), "invoices by id")

    # --- lookups ---

    def find_invoices_by_references(self, references: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        """The invoices that carry each reference exactly, ``MAX_REFERENCES`` references per filter."""
        wanted = list(dict.fromkeys(references))
        found: dict[str, list[InvoiceRef]] = {r: [] for r in wanted}
        for part in _parts(wanted, lambda _: 0, MAX_REFERENCES):
            where = " OR ".join(where_equals("Reference", r) for r in part)
            for invoice in self.client._all_invoices({"where": where}, f"invoices of {len(part)} references"):
                # Xero's where on strings ignores case; a reference matches exactly or not at all.
                if (invoice.Reference or "") in found:
                    found[invoice.Reference or ""].append(self.client._invoice_ref(invoice))
        return found

    def find_live_invoices_of(self, customer_ids: Sequence[str]) -> dict[str, list[InvoiceRef]]:
        """Each contact's live invoices: ``ContactIDs=`` (at most ``MAX_IDS``) with the live ``Statuses``, paged."""
        wanted = list(dict.fromkeys(i for i in customer_ids if i))
        found: dict[str, list[InvoiceRef]] = {i: [] for i in wanted}
        by_lower = {i.lower(): i for i in wanted}  # Xero's GUIDs match whatever their letters' case
        for part in _parts(wanted, lambda _: 0, MAX_IDS):
            params = {"ContactIDs": ",".join(part), "Statuses": ",".join(LIVE_STATUSES)}
            for invoice in self.client._all_invoices(params, f"invoices of {len(part)} contacts"):
                ref = self.client._invoice_ref(invoice)
                owner = by_lower.get((ref.customer_id or "").lower())
                if owner is not None and ref.status in LIVE_STATUSES:
                    found[owner].append(ref)
        return found

    def find_customers(self, external_ids: Sequence[str]) -> dict[str, CustomerRef]:
        """The contact carrying each company id: ``ContactNumber=="a" OR ...``, ``MAX_REFERENCES`` ids a call,
        archived ones included (an active one preferred). ContactNumber is no optimised filter: a big
        organisation refuses it (400 HighVolumeException), raised as the single lookup raises it."""
        wanted = list(dict.fromkeys(i for i in external_ids if i))
        found: dict[str, CustomerRef] = {}
        for part in _parts(wanted, lambda _: 0, MAX_REFERENCES):
            where = " OR ".join(where_equals("ContactNumber", i) for i in part)
            for contact in self.client._contacts_where(where, include_archived=True):
                number = contact.ContactNumber or ""  # Xero's where ignores case: the id matches exactly or not
                if number in part and (number not in found or found[number].status != "ACTIVE"):
                    found[number] = self.client._customer_ref(contact, number)
        return found


def _invoice_wire(draft: InvoiceDraft) -> dict[str, Any]:
    return XeroInvoice(
        Type="ACCREC", Contact=XeroContactRef(ContactID=draft.customer_id), Date=draft.issue_date.isoformat(),
        DueDate=draft.due_date.isoformat(), LineAmountTypes=draft.line_amount_types, CurrencyCode=draft.currency,
        Reference=draft.reference, Status=draft.status, BrandingThemeID=draft.branding_theme_id,
        LineItems=xero_edits.wire_lines(draft),
    ).wire()


def _contact_wire(customer: Customer) -> dict[str, Any]:
    return XeroContact(Name=customer.name, ContactNumber=customer.external_id, EmailAddress=customer.email,
                       FirstName=customer.first_name, LastName=customer.last_name).wire()


def _written(invoice: XeroInvoice | None, outcome: UndoOutcome) -> UndoOutcome | ElementRejected | ElementUnanswered:
    if invoice is None:
        return ElementUnanswered(reason=UNANSWERED)
    messages = _messages(invoice.ValidationErrors)
    return ElementRejected(messages=messages) if invoice.HasErrors or messages else outcome


def _archived(contact: XeroContact | None) -> ArchiveOutcome | ElementRejected | ElementUnanswered:
    if contact is None:
        return ElementUnanswered(reason=UNANSWERED)
    messages = _messages(contact.ValidationErrors)
    return ElementRejected(messages=messages) if contact.HasValidationErrors or messages else "archived"
