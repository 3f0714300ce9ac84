"""The AccountingPort adapter for the Xero Accounting API 2.0 (httpx, client-credentials auth).

Exceptions (``shared.domain.errors``), with Xero's own messages:

    SyncError
    ├── TransientError     429 (``retry_after`` from Retry-After; the limiter also pauses), 5xx,
    │                      timeouts, connection errors
    │                      401 again after one token refresh (code ``unauthorized``: a short burst
    │                      of 401s passes, a lasting one uses up the step's attempts); the identity
    │                      service unreachable or disconnected (see ``xero_auth``)
    ├── PermanentError     403 (tenant not connected, or a call outside the token's scopes), client
    │                      refused, other 4xx a retry cannot fix (code ``http_<status>``)
    └── BusinessRejection  validation errors (400, or per-item ValidationErrors with summarizeErrors=false;
                           code ``validation``), a paid invoice that cannot be undone (code
                           ``credit_note_required``), an archived contact cannot be reactivated

Decisions:
- ``find_customer`` goes by the company id in ContactNumber only, never by name or e-mail (another
  customer may share them), and sees only ACTIVE contacts (Xero's default without ``includeArchived``): an
  archived contact was retired by a person or by this sync's compensation, and must not get new
  invoices. ``create_customer`` first looks for an ARCHIVED contact with the same ContactNumber and
  reactivates it instead of creating a twin, so that compensate-then-retry reuses one record and
  the compensation (archive) restores exactly the state before.
- ``archive_customer`` and ``undo_invoice`` treat an unknown id as nothing left to undo.
- ``InvoiceRef.url`` is the link into the Xero app (``invoice_link``, no call).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from shared.config import Settings
from shared.connectors import jsonwire, xero_edits
from shared.connectors.http_client import ServiceHttp
from shared.connectors.limiter import RateLimiter
from shared.connectors.links import xero_invoice_link
from shared.connectors.xero_auth import MAPPING_SCOPES, SCOPES, TokenSource, XeroIdentity, XeroTokenProvider
from shared.connectors.xero_models import (
    ContactsEnvelope,
    InvoicesEnvelope,
    XeroContact,
    XeroContactRef,
    XeroErrorBody,
    XeroInvoice,
    parse_xero_date,
)
from shared.connectors.xero_org import email_invoice, read_catalogue
from shared.domain.errors import BusinessRejection, PermanentError, SyncError, TransientError
from shared.domain.invoice_edits import InvoiceContent
from shared.domain.models import Customer, CustomerRef, InvoiceDraft, InvoiceRef, UndoOutcome
from shared.domain.org_catalogue import OrgCatalogue

__all__ = ["XeroClient", "plan_undo", "where_equals"]

SERVICE = "xero"
EnvelopeT = TypeVar("EnvelopeT", bound=BaseModel)
MAX_IDEMPOTENCY_KEY = 128
PAGE_SIZE = 100
MAX_IDS_PER_CALL = 50  # Xero's guidance for an IDs= list: longer ones make an over-long URL
LIVE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID")  # invoices that still use their contact


def where_equals(field: str, value: str) -> str:
    """A Xero ``where`` clause ``Field=="value"`` with the value's quotes and backslashes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{field}=="{escaped}"'


def plan_undo(invoice_id: str, invoice: XeroInvoice | None) -> UndoOutcome | BusinessRejection:
    """How to undo this invoice: ``voided``/``deleted`` (a write to make), ``absent``/``already_gone`` (none), or
    the rejection of a paid one (a person must issue a credit note). One rule for single and batched undos."""
    if invoice is None:
        return "absent"
    status = invoice.Status
    if status in ("VOIDED", "DELETED"):
        return "already_gone"
    paid = invoice.AmountPaid or 0
    if status == "PAID" or paid > 0 or invoice.Payments:
        return BusinessRejection(
            f"invoice {invoice.InvoiceNumber or invoice_id} is {status} with {paid} paid: it can be neither "
            "voided nor deleted; a person must issue a credit note",
            service=SERVICE,
            code="credit_note_required",
            details={"invoice_id": invoice_id, "status": status or "", "amount_paid": str(paid)},
        )
    return "deleted" if status in ("DRAFT", "SUBMITTED") else "voided"


class XeroClient:
    """AccountingPort over Xero. One instance per process; thread-safe."""

    def __init__(
        self,
        base_url: str,
        token_url: str,
        client_id: SecretStr | str,
        client_secret: SecretStr | str,
        tenant_id: str,
        *,
        app_url: str = "https://go.xero.com",
        timeout: float = 20.0,
        calls_per_minute: int | None = 60,
        max_concurrent: int | None = 5,
        time_scale: float = 1.0,
        transport: httpx.BaseTransport | None = None,
        tokens: TokenSource | None = None,
        identity: XeroIdentity | None = None,
        on_day_remaining: Callable[[int], None] | None = None,
        scopes: tuple[str, ...] = SCOPES,
    ) -> None:
        limiter = (
            RateLimiter(calls_per_minute, 60.0, max_concurrent=max_concurrent, time_scale=time_scale)
            if calls_per_minute
            else None
        )
        self._http = ServiceHttp(
            SERVICE,
            base_url,
            timeout=timeout,
            limiter=limiter,
            transport=transport,
        )
        self.identity = identity or XeroIdentity(
            self._http,
            token_url,
            client_id if isinstance(client_id, SecretStr) else SecretStr(client_id),
            client_secret if isinstance(client_secret, SecretStr) else SecretStr(client_secret),
        )
        # A custom connection's organisation is a setting; a Web app's is stored when a person connects.
        self.tokens: TokenSource = tokens or XeroTokenProvider(self.identity, tenant_id, scopes=scopes)
        self.tenant_id = tenant_id
        # Xero's X-DayLimit-Remaining of the latest answer, and when it came (epoch seconds).
        self.day_remaining: int | None = None
        self.day_remaining_at = 0.0
        self._on_day_remaining = on_day_remaining
        self.app_url = app_url.rstrip("/")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        tokens: TokenSource | None = None,
        identity: XeroIdentity | None = None,
        on_day_remaining: Callable[[int], None] | None = None,
    ) -> XeroClient:
        return cls(
            settings.xero_base_url,
            settings.xero_token_url,
            settings.xero_client_id,
            settings.xero_client_secret,
            settings.xero_tenant_id,
            app_url=settings.xero_app_url,
            timeout=settings.http_timeout_seconds,
            calls_per_minute=settings.xero_calls_per_minute,
            max_concurrent=settings.xero_max_concurrent,
            time_scale=settings.rate_limit_time_scale,
            transport=transport,
            tokens=tokens,
            identity=identity,
            on_day_remaining=on_day_remaining,
            scopes=(*SCOPES, *MAPPING_SCOPES) if settings.invoice_mapping.strip() else SCOPES,
        )

    def __repr__(self) -> str:
        return f"XeroClient(base_url={self._http.base_url!r}, tenant_id={self.tenant_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> XeroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ---

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """One API call with a bearer token; a 401 refreshes the token once and retries (``timeout``: this
        call's, in seconds, when it is not the client's)."""
        headers: dict[str, str] = {}
        if idempotency_key is not None:
            if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
                raise PermanentError(
                    f"Idempotency-Key must be 1..{MAX_IDEMPOTENCY_KEY} characters",
                    service=SERVICE,
                    code="bad_request",
                )
            headers["Idempotency-Key"] = idempotency_key
        for attempt in (1, 2):
            token = self.tokens.token()
            headers["Authorization"] = f"Bearer {token}"
            headers["xero-tenant-id"] = self.tokens.tenant_id()
            try:
                response = self._http.request(method, path, params=params, json=json, headers=headers,
                                              timeout=timeout)
            except TransientError as exc:
                if exc.code == "quota_exhausted":  # Xero's day is used up: nothing left until the reset
                    self._note_day_remaining(0)
                raise
            self._note_limits(response)
            if response.status_code != 401:
                return response
            self.tokens.invalidate(token)
            if attempt == 2:
                break
        raise TransientError(
            f"{method} {path}: unauthorised after a token refresh ({ServiceHttp.error_text(response)})",
            service=SERVICE,
            code="unauthorized",
            status=401,
        )

    def _note_limits(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-DayLimit-Remaining", "")
        if remaining.isdigit():
            self._note_day_remaining(int(remaining))

    def _note_day_remaining(self, remaining: int) -> None:
        self.day_remaining, self.day_remaining_at = remaining, time.time()
        if self._on_day_remaining is not None:
            self._on_day_remaining(remaining)

    def _fail(self, response: httpx.Response, what: str) -> SyncError:
        status = response.status_code
        if status == 400:
            try:
                body = XeroErrorBody.model_validate(response.json())
            except (ValueError, ValidationError):
                body = XeroErrorBody(Message=ServiceHttp.error_text(response))
            messages = body.messages()
            return BusinessRejection(
                f"{what}: {'; '.join(messages) or 'rejected'}",
                service=SERVICE,
                code="validation",
                status=status,
                details={"messages": messages, "type": body.Type or ""},
            )
        return PermanentError(
            f"{what}: {status} {ServiceHttp.error_text(response)}",
            service=SERVICE,
            code="forbidden" if status == 403 else f"http_{status}",
            status=status,
        )

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return jsonwire.loads(response.content)
        except ValueError:
            raise PermanentError(
                f"{what}: answer is not JSON", service=SERVICE, code="bad_response"
            ) from None

    def _invoices(self, response: httpx.Response, what: str) -> list[XeroInvoice]:
        return self._envelope(response, what, InvoicesEnvelope).Invoices

    def _contacts(self, response: httpx.Response, what: str) -> list[XeroContact]:
        return self._envelope(response, what, ContactsEnvelope).Contacts

    def _envelope(self, response: httpx.Response, what: str, model: type[EnvelopeT]) -> EnvelopeT:
        """A 200 answer parsed into its envelope model; anything else is a mapped error."""
        if response.status_code != 200:
            raise self._fail(response, what)
        try:
            return model.model_validate(self._json(response, what))
        except ValidationError as exc:
            raise PermanentError(
                f"{what}: unexpected answer ({exc.error_count()} errors)",
                service=SERVICE,
                code="bad_response",
            ) from None

    @staticmethod
    def _item_errors(errors: list[Any] | None) -> list[str]:
        return [e.Message for e in errors or [] if e.Message]

    def _customer_ref(self, contact: XeroContact, external_id: str = "") -> CustomerRef:
        if not contact.ContactID:
            raise PermanentError("contact without ContactID", service=SERVICE, code="bad_response")
        return CustomerRef(
            id=contact.ContactID,
            external_id=contact.ContactNumber or external_id,
            name=contact.Name or "",
            status=contact.ContactStatus or "ACTIVE",
        )

    def _invoice_ref(self, invoice: XeroInvoice) -> InvoiceRef:
        if not invoice.InvoiceID:
            raise PermanentError("invoice without InvoiceID", service=SERVICE, code="bad_response")
        contact_id = invoice.Contact.ContactID if invoice.Contact else None
        return InvoiceRef(
            id=invoice.InvoiceID,
            number=invoice.InvoiceNumber or "",
            status=invoice.Status or "",
            reference=invoice.Reference or "",
            total=invoice.Total,
            currency=invoice.CurrencyCode,
            url=self.invoice_link(invoice.InvoiceID),
            customer_id=contact_id,
            amount_paid=invoice.AmountPaid,
            amount_due=invoice.AmountDue,
            paid_on=parse_xero_date(invoice.FullyPaidOnDate),
            sent_to_contact=invoice.SentToContact,
        )

    # --- customers ---

    def _contacts_where(self, clause: str, *, include_archived: bool = False) -> list[XeroContact]:
        params = {"where": clause}
        if include_archived:
            params["includeArchived"] = "true"
        return self._contacts(self._call("GET", "/Contacts", params=params), "find contact")

    def find_customer(self, external_id: str, *, include_archived: bool = False) -> CustomerRef | None:
        """The contact that carries ``external_id`` (the CRM company id) in ContactNumber, or None.

        Only the id makes a contact this company's: a contact of the same name or e-mail may be another
        customer's (two companies can share a name), and invoicing it would bill the wrong customer.
        """
        clause = where_equals("ContactNumber", external_id)
        for contact in self._contacts_where(clause, include_archived=include_archived):
            # Xero's where on strings ignores case; a company id matches exactly or not at all.
            if (contact.ContactNumber or "") == external_id and (
                contact.ContactStatus in (None, "ACTIVE") or include_archived
            ):
                return self._customer_ref(contact, external_id)
        return None

    def get_customers(self, ids: Sequence[str]) -> dict[str, CustomerRef]:
        """The contacts with these ContactIDs, archived ones included, by id: ``GET /Contacts?IDs=`` (an optimised
        filter, unlike ``ContactNumber``), at most 50 ids a call. An unknown id, or a contact merged into
        another (``MergedToContactID``: the merged-away one must not get invoices), is left out."""
        wanted = list(dict.fromkeys(i for i in ids if i))
        found: dict[str, CustomerRef] = {}
        for start in range(0, len(wanted), MAX_IDS_PER_CALL):
            chunk = wanted[start:start + MAX_IDS_PER_CALL]
            params = {"IDs": ",".join(chunk), "includeArchived": "true"}
            for contact in self._contacts(self._call("GET", "/Contacts", params=params), "contacts by id"):
                if contact.ContactID in chunk and not contact.MergedToContactID:
                    found[contact.ContactID] = self._customer_ref(contact)
        return found

    def find_customers_named(self, name: str) -> list[CustomerRef]:
        """The active contacts whose name is ``name`` as Xero compares names for uniqueness (ignoring case)."""
        found = self._contacts_where(where_equals("Name", name))
        return [self._customer_ref(c) for c in found
                if (c.Name or "").lower() == name.lower() and c.ContactStatus in (None, "ACTIVE")]

    def reactivate_customer(self, customer_id: str) -> CustomerRef:
        """Make an archived customer active again (the undo of a rollback's archive)."""
        return self._set_contact_status(customer_id, "ACTIVE")

    def create_customer(self, customer: Customer, idempotency_key: str) -> CustomerRef:
        # An archived twin is found by the caller (find_customer(include_archived=True)) and
        # reactivated instead: one lookup per transaction keeps Xero's 60 calls/min for invoices.
        contact = XeroContact(
            Name=customer.name,
            ContactNumber=customer.external_id,
            EmailAddress=customer.email,
            FirstName=customer.first_name,
            LastName=customer.last_name,
        )
        response = self._call(
            "PUT",
            "/Contacts",
            params={"summarizeErrors": "false"},
            json={"Contacts": [contact.wire()]},
            idempotency_key=idempotency_key,
        )
        created = self._contacts(response, f"create contact {customer.name!r}")
        if not created:
            raise PermanentError("create contact: empty answer", service=SERVICE, code="bad_response")
        errors = self._item_errors(created[0].ValidationErrors)
        if created[0].HasValidationErrors or errors:
            raise BusinessRejection(
                f"create contact {customer.name!r}: {'; '.join(errors)}",
                service=SERVICE,
                code="validation",
                details={"messages": errors},
            )
        return self._customer_ref(created[0], customer.external_id)

    def _set_contact_status(self, contact_id: str, status: str, external_id: str = "") -> CustomerRef:
        body = {"Contacts": [{"ContactID": contact_id, "ContactStatus": status}]}
        contacts = self._contacts(
            self._call("POST", f"/Contacts/{contact_id}", json=body), f"set contact {contact_id} {status}"
        )
        if not contacts:
            raise PermanentError("update contact: empty answer", service=SERVICE, code="bad_response")
        return self._customer_ref(contacts[0], external_id)

    def archive_customer(self, customer_id: str) -> None:
        response = self._call("GET", f"/Contacts/{customer_id}")
        if response.status_code == 404:
            return  # never created, or removed: nothing to undo
        contacts = self._contacts(response, f"contact {customer_id}")
        if contacts and contacts[0].ContactStatus == "ARCHIVED":
            return
        self._set_contact_status(customer_id, "ARCHIVED")

    # --- invoices ---

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> InvoiceRef:
        invoice = XeroInvoice(
            Type="ACCREC",
            Contact=XeroContactRef(ContactID=draft.customer_id),
            Date=draft.issue_date.isoformat(),
            DueDate=draft.due_date.isoformat(),
            LineAmountTypes=draft.line_amount_types,
            CurrencyCode=draft.currency,
            Reference=draft.reference,
            Status=draft.status,
            BrandingThemeID=draft.branding_theme_id,
            LineItems=xero_edits.wire_lines(draft),
        )
        response = self._call(
            "PUT",
            "/Invoices",
            params={"summarizeErrors": "false", **xero_edits.precision(draft)},
            json={"Invoices": [invoice.wire()]},
            idempotency_key=idempotency_key,
        )
        what = f"create invoice {draft.reference!r}"
        created = self._invoices(response, what)
        if not created:
            raise PermanentError(f"{what}: empty answer", service=SERVICE, code="bad_response")
        errors = self._item_errors(created[0].ValidationErrors)
        if created[0].HasErrors or errors:
            raise BusinessRejection(
                f"{what}: {'; '.join(errors) or 'rejected'}",
                service=SERVICE,
                code="validation",
                details={"messages": errors},
            )
        return self._invoice_ref(created[0])

    def _get_invoice(self, invoice_id: str) -> XeroInvoice | None:
        response = self._call("GET", f"/Invoices/{invoice_id}")
        if response.status_code == 404:
            return None
        found = self._invoices(response, f"invoice {invoice_id}")
        return found[0] if found else None

    def get_invoice(self, invoice_id: str) -> InvoiceRef | None:
        found = self._get_invoice(invoice_id)
        return self._invoice_ref(found) if found else None

    def get_invoices(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceRef]:
        """The invoices of these ids that exist, by the id as asked: one ``GET /Invoices?IDs=`` per
        ``MAX_IDS_PER_CALL`` ids (a longer list makes a URL Xero refuses)."""
        wanted = {i.lower(): i for i in dict.fromkeys(invoice_ids)}
        found: dict[str, InvoiceRef] = {}
        ids = list(wanted.values())
        for start in range(0, len(ids), MAX_IDS_PER_CALL):
            chunk = ids[start:start + MAX_IDS_PER_CALL]
            for invoice in self._all_invoices({"IDs": ",".join(chunk)}, f"{len(chunk)} invoices by id"):
                asked = wanted.get((invoice.InvoiceID or "").lower())
                if asked is not None:  # Xero filters by the ids; anything else it sends is not an answer
                    found[asked] = self._invoice_ref(invoice)
        return found

    def find_invoices_by_reference(self, reference: str) -> list[InvoiceRef]:
        found = self._all_invoices({"where": where_equals("Reference", reference)}, f"invoices {reference!r}")
        return [self._invoice_ref(i) for i in found if (i.Reference or "") == reference]

    def find_live_invoices(self, customer_id: str) -> list[InvoiceRef]:
        params = {"ContactIDs": customer_id, "Statuses": ",".join(LIVE_STATUSES)}
        found = self._all_invoices(params, f"invoices of contact {customer_id}")
        return [self._invoice_ref(i) for i in found if i.Status in LIVE_STATUSES]

    def _all_invoices(self, params: Mapping[str, str], what: str) -> list[XeroInvoice]:
        invoices: list[XeroInvoice] = []
        page = 1
        while True:
            paged = {**params, "page": str(page), "pageSize": str(PAGE_SIZE)}
            found = self._invoices(self._call("GET", "/Invoices", params=paged), what)
            invoices.extend(found)
            if len(found) < PAGE_SIZE:
                return invoices
            page += 1

    def undo_invoice(self, invoice_id: str) -> UndoOutcome:
        planned = plan_undo(invoice_id, self._get_invoice(invoice_id))
        if isinstance(planned, BusinessRejection):
            raise planned
        if planned not in ("voided", "deleted"):
            return planned
        target, outcome = ("DELETED", "deleted") if planned == "deleted" else ("VOIDED", "voided")
        body = {"Invoices": [{"InvoiceID": invoice_id, "Status": target}]}
        updated = self._invoices(
            self._call("POST", f"/Invoices/{invoice_id}", json=body),
            f"{'delete' if target == 'DELETED' else 'void'} invoice {invoice_id}",
        )
        errors = self._item_errors(updated[0].ValidationErrors) if updated else []
        if errors:
            raise BusinessRejection(
                f"undo invoice {invoice_id}: {'; '.join(errors)}",
                service=SERVICE,
                code="validation",
                details={"messages": errors},
            )
        return "deleted" if outcome == "deleted" else "voided"

    def get_invoice_content(self, invoice_id: str) -> InvoiceContent | None:
        return xero_edits.get_invoice_content(self, invoice_id)

    def update_invoice_lines(self, invoice_id: str, draft: InvoiceDraft, idempotency_key: str) -> InvoiceRef:
        return xero_edits.update_invoice_lines(self, invoice_id, draft, idempotency_key)

    def organisation_catalogue(self) -> OrgCatalogue:
        return read_catalogue(self)

    def email_invoice(self, invoice_id: str) -> None:
        email_invoice(self, invoice_id)

    def invoice_link(self, invoice_id: str) -> str:
        return xero_invoice_link(self.app_url, invoice_id)
