"""Webhook rules: signatures over the raw body and public URL, the 5-minute window, sizes, what starts a sync."""

from __future__ import annotations

import json
import time

import pytest

from shared.api import webhooks
from shared.config import Settings, get_settings
from shared.connectors.hubspot_webhooks import sign_v3
from shared.connectors.xero_webhooks import sign

URL = "https://sync.example.com/api/webhooks/hubspot"


@pytest.fixture
def settings(app_settings: dict[str, str]) -> Settings:
    return get_settings()


def signed(settings: Settings, events: object, *, url: str = URL, age_ms: int = 0,
           secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    ts = int(time.time() * 1000) - age_ms
    key = secret or settings.hubspot_app_secret.get_secret_value()
    return body, {"X-HubSpot-Signature-v3": sign_v3(key, "POST", url, body, ts),
                  "X-HubSpot-Request-Timestamp": str(ts)}


def stage_change(event_id: int, deal: int, stage: str = "closedwon") -> dict[str, object]:
    return {"eventId": event_id, "subscriptionType": "deal.propertyChange", "objectId": deal,
            "propertyName": "dealstage", "propertyValue": stage, "occurredAt": 1, "attemptNumber": 0}


def test_won_deals_in_a_signed_batch_are_started_once_each(settings: Settings) -> None:
    events = [stage_change(1, 10), stage_change(2, 11), stage_change(1, 10), stage_change(3, 10),
              stage_change(4, 12, "appointmentscheduled"),
              {"eventId": 5, "subscriptionType": "deal.creation", "objectId": 13},
              {"eventId": 6, "subscriptionType": "contact.creation", "objectId": 14}]
    body, headers = signed(settings, events)
    decision = webhooks.hubspot("POST", URL, headers, body, settings)
    assert decision.response is None
    assert decision.deal_ids == ["10", "11", "10", "13"]  # the starter dedupes by transaction id
    assert decision.received == 7 and decision.ignored == 3


@pytest.mark.parametrize("tamper", ["body", "stale", "secret", "missing", "url"])
def test_bad_or_stale_signatures_are_refused_with_401(settings: Settings, tamper: str) -> None:
    body, headers = signed(settings, [stage_change(1, 10)], age_ms=6 * 60_000 if tamper == "stale" else 0,
                           secret="wrong" if tamper == "secret" else None,
                           url="https://evil.example/api/webhooks/hubspot" if tamper == "url" else URL)
    if tamper == "body":
        body = body.replace(b"10", b"99")
    if tamper == "missing":
        headers = {}
    decision = webhooks.hubspot("POST", URL, headers, body, settings)
    assert decision.response is not None and decision.response.status == 401
    assert json.loads(decision.response.body)["error"] == "invalid_signature"


def test_signature_is_checked_against_the_public_url_behind_a_proxy(settings: Settings) -> None:
    body, headers = signed(settings, [stage_change(1, 10)])
    internal = "http://10.0.0.4:7071/api/webhooks/hubspot"
    headers |= {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sync.example.com"}
    assert webhooks.hubspot("POST", internal, headers, body, settings).response is None


@pytest.mark.parametrize(("payload", "status"), [(b"{not json", 400), (b'{"a": 1}', 400), (b"[1, 2]", 400),
                                                 (json.dumps([stage_change(i, i) for i in range(101)]).encode(), 400)])
def test_malformed_bodies_get_400(settings: Settings, payload: bytes, status: int) -> None:
    ts = int(time.time() * 1000)
    headers = {"X-HubSpot-Signature-v3": sign_v3(settings.hubspot_app_secret.get_secret_value(), "POST", URL,
                                                 payload, ts), "X-HubSpot-Request-Timestamp": str(ts)}
    decision = webhooks.hubspot("POST", URL, headers, payload, settings)
    assert decision.response is not None and decision.response.status == status


def test_oversized_bodies_get_413_before_any_parsing(settings: Settings) -> None:
    decision = webhooks.hubspot("POST", URL, {}, b"[" + b" " * settings.webhook_max_body_bytes + b"]", settings)
    assert decision.response is not None and decision.response.status == 413


def test_xero_intent_to_receive_answers_200_empty_when_signed_and_401_otherwise(settings: Settings) -> None:
    body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"}).encode()
    good = sign(settings.xero_webhook_key.get_secret_value(), body)
    ok = webhooks.xero({"x-xero-signature": good}, body, settings)
    assert (ok.response.status, ok.response.body) == (200, "")
    bad = webhooks.xero({"x-xero-signature": sign("other-key", body)}, body, settings)
    assert (bad.response.status, bad.response.body) == (401, "")


def test_xero_invoice_events_name_the_invoices_to_check(settings: Settings) -> None:
    events = {"events": [
        {"resourceId": "inv-1", "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": settings.xero_tenant_id},
        {"resourceId": "inv-1", "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": settings.xero_tenant_id},
        {"resourceId": "c-1", "eventCategory": "CONTACT", "eventType": "UPDATE", "tenantId": settings.xero_tenant_id},
        {"resourceId": "inv-2", "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": "another-org"}]}
    body = json.dumps(events).encode()
    decision = webhooks.xero({"x-xero-signature": sign(settings.xero_webhook_key.get_secret_value(), body)}, body,
                             settings)
    assert decision.paid_invoice_ids == ["inv-1"]
