"""Incoming webhooks: verify the vendor's signature over the raw body, then decide what to start.

Nothing here calls HubSpot or Xero: webhooks must be answered within seconds, and the work belongs
to durable orchestrations that retry on their own. A HubSpot delivery is answered after one durable
start (``webhook_batch``), which then starts a ``deal_sync`` per deal off the request path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared import names
from shared.api.hubspot_life_events import LifeEvents
from shared.api.responses import ApiResponse, error_response, json_response
from shared.application.life_event_starts import start_life_event_batch
from shared.application.paid_invoice_starts import start_paid_invoice_batch
from shared.application.ports import DurableClient
from shared.application.webhook_batch_start import start_webhook_batch
from shared.config import Settings
from shared.connectors import hubspot_webhooks, xero_webhooks
from shared.sync.identity import transaction_id

log = logging.getLogger(__name__)

MAX_EVENTS = 100
# Xero's InvoiceID is a GUID. Anything else in a signed event cannot name one of our invoices, and must
# not reach the task hub: it becomes part of an instance id, which refuses control characters and '/'.
XERO_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", re.ASCII)
DEAL_EVENTS = frozenset({"deal.creation", "deal.propertyChange"})


@dataclass
class HubSpotDecision:
    response: ApiResponse | None = None  # set when the request is refused
    deal_ids: list[str] = field(default_factory=list)  # each deal once, in the order of its first event
    received: int = 0
    ignored: int = 0
    event_keys: list[str] = field(default_factory=list)  # what identifies the accepted events (batch_id)
    life: LifeEvents = field(default_factory=LifeEvents)  # invoiced deals' changes, losses, deletions

    @property
    def batch_id(self) -> str | None:
        """The ``webhook_batch`` instance id: the same accepted events give the same id, whatever else a
        redelivery carries, so a replay is recognised by one status read. None when nothing was accepted."""
        if not self.event_keys:
            return None
        # surrogatepass: an eventId may be any JSON string, lone surrogates included; same ids for normal text.
        joined = "\n".join(sorted(set(self.event_keys)))
        digest = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()
        return names.WEBHOOK_BATCH_PREFIX + digest


def public_url(url: str, headers: Mapping[str, str], settings: Settings) -> str:
    """The URL the vendor called: behind a proxy, PUBLIC_BASE_URL or X-Forwarded-* give its origin."""
    parts = urlsplit(url)
    if settings.public_base_url:
        base = urlsplit(settings.public_base_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
    proto = headers.get("x-forwarded-proto")
    host = headers.get("x-forwarded-host")
    if proto or host:
        return urlunsplit((proto or parts.scheme, host or parts.netloc, parts.path, parts.query, ""))
    return url


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get(name.lower())


def hubspot(method: str, url: str, headers: Mapping[str, str], body: bytes, settings: Settings,
            now_ms: int | None = None) -> HubSpotDecision:
    if len(body) > settings.webhook_max_body_bytes:
        return HubSpotDecision(error_response(413, "payload_too_large",
                                              f"webhook bodies are limited to {settings.webhook_max_body_bytes} bytes"))
    lowered = {k.lower(): v for k, v in headers.items()}
    ok = hubspot_webhooks.verify_v3(
        settings.hubspot_app_secret.get_secret_value(), method, public_url(url, lowered, settings), body,
        _header(headers, "X-HubSpot-Signature-v3"), _header(headers, "X-HubSpot-Request-Timestamp"), now_ms=now_ms,
    )
    if not ok:
        return HubSpotDecision(error_response(401, "invalid_signature",
                                              "X-HubSpot-Signature-v3 is missing, wrong or older than 5 minutes"))
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return HubSpotDecision(error_response(400, "malformed_body", "the body is not JSON"))
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return HubSpotDecision(error_response(400, "malformed_body", "expected a JSON array of event objects"))
    if len(events) > MAX_EVENTS:
        return HubSpotDecision(error_response(400, "too_many_events", f"at most {MAX_EVENTS} events per request"))
    decision = HubSpotDecision(received=len(events))
    seen: set[str] = set()
    for event in events:
        deal_id = _wanted_deal(event, settings.hubspot_trigger_stage)
        key = str(event.get("eventId", ""))
        if deal_id is None and decision.life.add(event, settings.hubspot_trigger_stage):
            continue  # a life event: its own batch (shared/api/hubspot_life_events.py)
        if deal_id is None or (key and key in seen):
            decision.ignored += 1
            continue
        seen.add(key)
        # HubSpot always sends an eventId; without one the event's own content identifies it.
        decision.event_keys.append(f"{key}:{deal_id}" if key else json.dumps(event, sort_keys=True, default=str))
        if deal_id not in decision.deal_ids:  # a deal is one transaction, however many of its events arrive
            decision.deal_ids.append(deal_id)
    return decision


def _wanted_deal(event: dict[str, Any], stage: str) -> str | None:
    kind = event.get("subscriptionType")
    object_id = event.get("objectId")
    if kind not in DEAL_EVENTS or isinstance(object_id, bool) or not isinstance(object_id, int | str):
        return None
    deal_id = str(object_id)
    if not (deal_id.isascii() and deal_id.isdigit()) or len(deal_id) > 20:  # "٣٤".isdigit() is True too
        return None
    if kind == "deal.propertyChange" and (event.get("propertyName") != "dealstage"
                                          or event.get("propertyValue") != stage):
        return None
    return deal_id


async def hubspot_accept(decision: HubSpotDecision, client: DurableClient, settings: Settings) -> ApiResponse:
    """Hand a verified delivery's deals to one ``webhook_batch`` orchestration and answer 200.

    ``accepted`` names the transactions the delivery asks for (each is started once, or was already);
    ``duplicate`` says this same delivery was handed over before, so nothing new was started for it.
    When the task hub cannot be reached the answer is 503: nothing was accepted, and HubSpot delivers
    the events again (it retries any non-2xx answer for about a day).
    """
    batch_id = decision.batch_id
    duplicate = False
    if batch_id is not None:
        try:
            duplicate = await start_webhook_batch(client, batch_id, decision.deal_ids, settings)
        except Exception as exc:  # the durable client's errors have no common type (HTTP, SDK, host)
            return _unavailable("HubSpot", f"webhook batch {batch_id}", exc)
    life: dict[str, Any] = {}
    life_id = decision.life.batch_id
    if life_id is not None:
        try:
            life_duplicate = await start_life_event_batch(client, life_id, decision.life.events, settings)
        except Exception as exc:  # as above: HubSpot delivers again, and the wins' batch is recognised then
            return _unavailable("HubSpot", f"life event batch {life_id}", exc)
        life = {"life_events": list(decision.life.events), "life_batch": life_id, "life_duplicate": life_duplicate}
    return json_response(200, {"received": decision.received, "ignored": decision.ignored,
                               "accepted": [transaction_id(d) for d in decision.deal_ids],
                               "batch": batch_id, "duplicate": duplicate, **life})


@dataclass
class XeroDecision:
    response: ApiResponse
    paid_invoice_ids: list[str] = field(default_factory=list)  # each invoice once, in the order of its first event
    event_keys: list[str] = field(default_factory=list)  # what identifies the accepted events (batch_id)

    @property
    def batch_id(self) -> str | None:
        """The ``paid_invoice_batch`` instance id: a redelivery of the same events (same sequence numbers)
        gives the same id, so it is recognised by one status read. None when nothing was accepted."""
        if not self.event_keys:
            return None
        joined = "\n".join(self.event_keys)
        return names.PAID_BATCH_PREFIX + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def xero(headers: Mapping[str, str], body: bytes, settings: Settings) -> XeroDecision:
    """Intent to receive and invoice events: 200 with an empty body when signed, 401 otherwise."""
    if len(body) > settings.webhook_max_body_bytes:
        return XeroDecision(error_response(413, "payload_too_large", "webhook body too large"))
    signature = _header(headers, "x-xero-signature")
    if not xero_webhooks.verify(settings.xero_webhook_key.get_secret_value(), body, signature):
        # Xero expects a bare 401 for a bad signature (intent to receive), and so does a forger.
        return XeroDecision(ApiResponse(401, "", "text/plain"))
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return XeroDecision(error_response(400, "malformed_body", "the body is not JSON"))
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        return XeroDecision(error_response(400, "malformed_body", "expected an object with an events array"))
    accepted = [(i, e) for i, e in ((_invoice_to_read(e, settings.xero_tenant_id), e) for e in events) if i]
    # Xero numbers its deliveries' events: with the events themselves, that tells a redelivery from a new
    # delivery that happens to carry the same event again (its later change within the same millisecond).
    sequence = json.dumps([payload.get("firstEventSequence"), payload.get("lastEventSequence")], default=str)
    keys = [sequence, *sorted(json.dumps(e, sort_keys=True, default=str) for _, e in accepted)] if accepted else []
    return XeroDecision(ApiResponse(200, "", "text/plain"), list(dict.fromkeys(i for i, _ in accepted)), keys)


def _invoice_to_read(event: object, tenant_id: str) -> str | None:
    """The invoice an event asks to read back (lowercase GUID), or None for an event that cannot matter."""
    if not isinstance(event, dict) or event.get("eventCategory") != "INVOICE":
        return None
    if event.get("eventType") == "CREATE":
        # Xero reports every invoice made, this app's own included: a new invoice cannot be paid, voided or
        # deleted yet (each of those is an UPDATE event of its own), so reading it back would cost one Xero
        # call per deal for nothing.
        return None
    resource = event.get("resourceId")
    if not isinstance(resource, str) or not XERO_GUID.fullmatch(resource):
        return None
    return resource.lower() if event.get("tenantId") in (None, tenant_id) else None


async def xero_accept(decision: XeroDecision, client: DurableClient) -> ApiResponse:
    """Hand a signed delivery's invoices to one ``paid_invoice_batch``, then answer as ``xero`` decided.

    The batch starts the write-backs and reads their invoices many per call. When the task hub cannot be
    reached the answer is 503: nothing was accepted, and Xero delivers the events again.
    """
    batch_id = decision.batch_id
    if batch_id is not None:
        try:
            await start_paid_invoice_batch(client, batch_id, decision.paid_invoice_ids)
        except Exception as exc:  # the durable client's errors have no common type (HTTP, SDK, host)
            return _unavailable("Xero", f"paid-invoice batch {batch_id}", exc)
    return decision.response


def _unavailable(vendor: str, what: str, exc: Exception) -> ApiResponse:
    """503: nothing was accepted, and the vendor delivers the events again (both retry any non-2xx answer)."""
    log.warning("%s not started: %s", what, type(exc).__name__)
    return error_response(503, "unavailable", f"the orchestration store could not be reached; nothing was "
                          f"accepted, {vendor} will deliver these events again", {"Retry-After": "30"})
