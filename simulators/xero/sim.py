"""The Xero Accounting API simulator: contacts, invoices, idempotency, scopes, limits, webhooks.

Decisions (documented for test writers):
- One organisation's data; the ``xero-tenant-id`` header must be present (403 otherwise) and, if
  ``tenant_ids`` is configured, one of them. Rate limits are counted per tenant id.
- ``Idempotency-Key`` (max 128 chars) on PUT/POST: a repeated key, for the same tenant, replays the
  original status and body and changes nothing, even if the new body differs (Xero's behaviour).
- The identity service (tokens, authorize page, ``/connections``, revocation, scopes) is
  ``simulators.xero.identity``. Token lifetime is in real seconds (``token_lifetime``);
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
- Collections: ``PUT /Invoices`` and ``/Contacts`` create, ``POST`` updates the elements that carry an
  InvoiceID / ContactID (bulk void, bulk archive) and creates the others. Elements are handled one after the
  other; each answers ``StatusAttributeString`` OK or ERROR (with ``ValidationErrors``) when
  ``summarizeErrors=false``; otherwise (Xero's default) any refused element makes the answer a 400 with the
  refused ones, and the valid ones are stored all the same, as Xero does. Size cap, batch latency, shuffled
  answers, and HighVolumeException: ``simulators.xero.batch_settings``.
- Webhooks: an invoice made through the API (``PUT /Invoices``) sends INVOICE CREATE events (one delivery
  per call); every later change, by the API or a person, an INVOICE UPDATE event, as Xero does.
- ``IDs``, ``ContactIDs`` and ``InvoiceNumbers`` lists of more than ``max_ids`` (50) answer 414, before auth
  and limits (``access.XeroAccess.admit``).
- ``POST /Invoices/{id}`` with ``LineItems`` edits an unpaid invoice's lines (``simulators.xero.edits``).
- ``POST /_sim/xero/invoices/{id}/status`` ``{"status": "VOIDED" | "DELETED"}`` is a person voiding or
  deleting the invoice in the Xero app: Xero's status rules apply, and the INVOICE UPDATE webhook goes out.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.xero import seed as seed_data
from simulators.xero.access import XeroAccess
from simulators.xero.admin import XeroAdmin
from simulators.xero.org import add_org_routes
from simulators.xero.routes_contacts import ContactRoutes
from simulators.xero.routes_identity import IdentityRoutes
from simulators.xero.routes_invoices import InvoiceRoutes
from simulators.xero.schema import API

__all__ = ["XeroSim"]


class XeroSim(ContactRoutes, InvoiceRoutes, IdentityRoutes, XeroAdmin, XeroAccess):
    """The Xero simulator: the organisation (``XeroStore``) with its routes, admin endpoints and access checks."""

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
        r.add_post(f"{API}/Contacts", self.post_contacts)
        r.add_get(f"{API}/Contacts/{{id}}", self.get_contact)
        r.add_post(f"{API}/Contacts/{{id}}", self.post_contact)
        r.add_get(f"{API}/Invoices", self.get_invoices)
        r.add_put(f"{API}/Invoices", self.put_invoices)
        r.add_post(f"{API}/Invoices", self.post_invoices)
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

    def seed(self, name: str, options: dict[str, Any]) -> dict[str, Any]:
        if name != "demo":
            raise ValueError(f"unknown seed {name!r} (known: demo)")
        return seed_data.seed_xero(self)
