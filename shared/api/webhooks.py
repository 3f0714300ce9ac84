"""Incoming webhooks: verify the vendor's signature over the raw body, then decide what to start.

Nothing here calls HubSpot or Xero: webhooks must be answered within seconds, and the work belongs
to durable orchestrations that retry on their own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shared.api.responses import ApiResponse, error_response, json_response
from shared.config import Settings
from shared.connectors import hubspot_webhooks, xero_webhooks

MAX_EVENTS = 100
DEAL_EVENTS = frozenset({"deal.creation", "deal.propertyChange"})


@dataclass
class HubSpotDecision:
    response: ApiResponse | None = None  # set when the request is refused
    deal_ids: list[str] = field(default_factory=list)
    received: int = 0
    ignored: int = 0


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
    except (ValueError, UnicodeDecodeError):
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
        if deal_id is None or (key and key in seen):
            decision.ignored += 1
            continue
        seen.add(key)
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


def hubspot_accepted(decision: HubSpotDecision, started: list[str], duplicates: list[str]) -> ApiResponse:
    return json_response(200, {"received": decision.received, "ignored": decision.ignored,
                               "started": started, "duplicates": duplicates})


@dataclass
class XeroDecision:
    response: ApiResponse
    paid_invoice_ids: list[str] = field(default_factory=list)


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
    except (ValueError, UnicodeDecodeError):
        return XeroDecision(error_response(400, "malformed_body", "the body is not JSON"))
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        return XeroDecision(error_response(400, "malformed_body", "expected an object with an events array"))
    ids = [str(e["resourceId"]) for e in events
           if isinstance(e, dict) and e.get("eventCategory") == "INVOICE" and isinstance(e.get("resourceId"), str)
           and e.get("tenantId") in (None, settings.xero_tenant_id)]
    return XeroDecision(ApiResponse(200, "", "text/plain"), list(dict.fromkeys(ids)))
