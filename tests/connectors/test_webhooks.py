"""Webhook signatures of both vendors: simulators deliver signed calls; the pure verifiers decide."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from shared.connectors import hubspot_webhooks, xero_webhooks
from shared.connectors.hubspot import HubSpotClient
from shared.connectors.hubspot_models import WebhookEvent
from shared.connectors.xero import XeroClient
from simulators.testing import SimulatorsProcess
from tests.connectors.receiver import Delivery, Receiver
from tests.connectors.test_hubspot_connector import Portal

APP_SECRET = "hubspot-app-secret"
WEBHOOK_KEY = "xero-webhook-key"


def hubspot_ok(
    d: Delivery, url: str, secret: str = APP_SECRET, now_ms: int | None = None, body: bytes | None = None
) -> bool:
    return hubspot_webhooks.verify_v3(
        secret,
        d.method,
        url,
        d.body if body is None else body,
        d.headers.get("X-HubSpot-Signature-v3"),
        d.headers.get("X-HubSpot-Request-Timestamp"),
        now_ms=now_ms,
    )


def xero_answer(key: str, d: Delivery) -> int:
    """What Xero expects of a receiver (intent to receive, and every delivery): 200 if signed, else 401."""
    return 200 if xero_webhooks.verify(key, d.body, d.headers.get("x-xero-signature")) else 401


def test_deal_won_in_hubspot_sends_a_signed_v3_batch(
    hub_sim: SimulatorsProcess, hubspot: HubSpotClient
) -> None:
    hub_sim.hubspot.seed("demo")
    with Receiver() as receiver:
        hub_sim.hubspot.set_webhook(receiver.url, APP_SECRET)
        deal_id = Portal(hub_sim).deal(stage="contractsent")
        hubspot_portal = Portal(hub_sim).http
        hubspot_portal.patch(
            f"/crm/objects/2026-09/deals/{deal_id}", json={"properties": {"dealstage": "closedwon"}}
        )
        deliveries = receiver.wait_for(2)
    assert len(deliveries) == 2
    assert all(hubspot_ok(d, receiver.url) for d in deliveries)
    events = [WebhookEvent.model_validate(e) for d in deliveries for e in json.loads(d.body)]
    assert [(e.subscriptionType, e.objectId, e.propertyValue) for e in events] == [
        ("deal.creation", int(deal_id), None),
        ("deal.propertyChange", int(deal_id), "closedwon"),
    ]


def test_hubspot_signature_rejects_tampered_stale_and_foreign_calls(hub_sim: SimulatorsProcess) -> None:
    with Receiver() as receiver:
        outcome = hub_sim.hubspot.send_webhooks(
            [{"subscriptionType": "deal.propertyChange", "objectId": 7, "propertyValue": "closedwon"}],
            url=receiver.url,
            secret=APP_SECRET,
        )
        assert outcome["status"] == 200
        delivery = receiver.wait_for(1)[0]
    assert hubspot_ok(delivery, receiver.url)
    assert not hubspot_ok(delivery, receiver.url, body=delivery.body.replace(b"closedwon", b"closedlost"))
    assert not hubspot_ok(delivery, receiver.url, secret="another-secret")
    sent_at = int(delivery.headers["X-HubSpot-Request-Timestamp"])
    assert not hubspot_ok(delivery, receiver.url, now_ms=sent_at + 5 * 60 * 1000 + 1)
    assert hubspot_ok(delivery, receiver.url, now_ms=sent_at + 5 * 60 * 1000 - 1)
    assert not hubspot_ok(delivery, receiver.url.replace("/webhooks", "/other"))


def test_hubspot_signature_uses_the_decoded_public_uri() -> None:
    stamp = int(time.time() * 1000)
    body = b'[{"eventId":1}]'
    signature = hubspot_webhooks.sign_v3(APP_SECRET, "POST", "https://example.com/hook?x=a:b", body, stamp)
    assert hubspot_webhooks.verify_v3(
        APP_SECRET, "POST", "https://example.com/hook?x=a%3Ab", body, signature, str(stamp)
    )
    assert not hubspot_webhooks.verify_v3(
        APP_SECRET, "POST", "https://example.com/hook", body, None, str(stamp)
    )


def test_paid_invoice_in_xero_sends_a_signed_update_event(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    from tests.connectors.test_xero_connector import customer, draft

    ref = xero.create_invoice(draft(customer(xero)), "k-webhook")
    with Receiver(
        answer=lambda d: xero_answer(WEBHOOK_KEY, d)
    ) as receiver:
        xero_sim.xero.set_webhook(receiver.url, WEBHOOK_KEY)
        result = xero_sim.xero.pay_invoice(ref.id, wait_for_webhook=True)
        delivery = receiver.wait_for(1)[0]
    assert result["webhook"]["status"] == 200
    payload = json.loads(delivery.body)
    event = payload["events"][0]
    assert (event["eventCategory"], event["eventType"], event["resourceId"]) == ("INVOICE", "UPDATE", ref.id)
    signature = delivery.headers["x-xero-signature"]
    assert xero_webhooks.verify(WEBHOOK_KEY, delivery.body, signature)
    assert not xero_webhooks.verify(WEBHOOK_KEY, delivery.body + b" ", signature)
    assert not xero_webhooks.verify("another-key", delivery.body, signature)
    assert not xero_webhooks.verify(WEBHOOK_KEY, delivery.body, None)


def test_an_invoice_made_through_the_api_sends_a_signed_create_event_once_per_key(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    from tests.connectors.test_xero_connector import customer, draft

    contact = customer(xero)
    with Receiver(answer=lambda d: xero_answer(WEBHOOK_KEY, d)) as receiver:
        xero_sim.xero.set_webhook(receiver.url, WEBHOOK_KEY)
        ref = xero.create_invoice(draft(contact), "k-created")
        xero.create_invoice(draft(contact), "k-created")  # a retried call: Xero replays, nothing new happens
        delivery = receiver.wait_for(1)[0]
        time.sleep(0.3)
        assert len(receiver.deliveries) == 1
    assert xero_webhooks.verify(WEBHOOK_KEY, delivery.body, delivery.headers.get("x-xero-signature"))
    payload = json.loads(delivery.body)
    [event] = payload["events"]
    assert (event["eventCategory"], event["eventType"], event["resourceId"]) == ("INVOICE", "CREATE", ref.id)
    assert event["resourceUrl"].endswith(f"/Invoices/{ref.id}") and event["tenantType"] == "ORGANISATION"
    assert payload["firstEventSequence"] == payload["lastEventSequence"]


def test_xero_intent_to_receive_passes_only_with_the_right_key(xero_sim: SimulatorsProcess) -> None:
    def answer_with(key: str) -> dict[str, object]:
        with Receiver(
            answer=lambda d: xero_answer(key, d)
        ) as receiver:
            response = xero_sim.xero._http.post(
                "/_sim/webhooks/intent", json={"url": receiver.url, "key": WEBHOOK_KEY}
            )
            return dict(response.json())

    assert answer_with(WEBHOOK_KEY) == {"passed": True, "signed": 200, "badly_signed": 401}
    assert answer_with("another-key")["passed"] is False


@pytest.mark.parametrize("stale_ms", [5 * 60 * 1000 + 1, -(5 * 60 * 1000 + 1)])
def test_hubspot_timestamps_outside_five_minutes_are_rejected(stale_ms: int) -> None:
    now = int(time.time() * 1000)
    signature = hubspot_webhooks.sign_v3(APP_SECRET, "POST", "https://x/h", b"[]", now - stale_ms)
    assert not hubspot_webhooks.verify_v3(
        APP_SECRET, "POST", "https://x/h", b"[]", signature, str(now - stale_ms), now_ms=now
    )


@pytest.mark.parametrize("timestamp", ["²", "١٢٣", " 12\u00b3", "1e3", "-5", ""])
def test_hubspot_timestamp_of_anything_but_ascii_digits_is_refused_not_an_error(timestamp: str) -> None:
    assert hubspot_webhooks.verify_v3(APP_SECRET, "POST", "https://app.example/api/webhooks/hubspot", b"[]",
                                      "c2lnbmF0dXJl", timestamp) is False


@pytest.mark.parametrize("signature", ["\ud800", "é" * 44, "\x00"])
def test_forged_signatures_with_odd_characters_compare_unequal_for_both_vendors(signature: str) -> None:
    now = int(time.time() * 1000)
    assert hubspot_webhooks.verify_v3(APP_SECRET, "POST", "https://app.example/x", b"[]", signature,
                                      str(now), now_ms=now) is False
    assert xero_webhooks.verify(WEBHOOK_KEY, b"{}", signature) is False


def test_a_bulk_stage_change_reaches_the_subscribed_app_as_one_signed_post_listed_in_the_deliveries(
    hub_sim: SimulatorsProcess,
) -> None:
    portal = Portal(hub_sim)
    deal_ids = [portal.deal(stage="contractsent") for _ in range(3)]
    with Receiver() as receiver:
        hub_sim.hubspot.subscribe(receiver.url, APP_SECRET, appId=99, subscriptions=[
            {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage"}])
        answer = portal.http.post("/crm/objects/2026-09/deals/batch/update", json={"inputs": [
            {"id": d, "properties": {"dealstage": "closedwon"}} for d in deal_ids]})
        assert answer.status_code == 200, answer.text
        [delivery] = receiver.wait_for(1)
        time.sleep(0.7)  # longer than the batch window: nothing else comes
    assert len(receiver.deliveries) == 1 and hubspot_ok(delivery, receiver.url)
    events = [WebhookEvent.model_validate(e) for e in json.loads(delivery.body)]
    assert [(e.subscriptionType, e.objectId, e.propertyValue) for e in events] == [
        ("deal.propertyChange", int(d), "closedwon") for d in deal_ids]
    listed = hub_sim.hubspot.webhook_deliveries()
    assert listed["idle"] and [(r["post"], r["attempt"], r["status"], len(r["events"]))
                               for r in listed["deliveries"]] == [(1, 0, 200, 3)]
    hub_sim.hubspot.reset()  # a reset ends the subscription
    assert hub_sim.hubspot._call("GET", "/_sim/webhooks/subscription") == {"subscribed": False}


def test_a_bad_subscription_or_a_flush_without_one_is_refused_with_a_json_error(hub_sim: SimulatorsProcess) -> None:
    with httpx.Client(base_url=hub_sim.hubspot_url, timeout=10.0) as admin:
        bad = admin.post("/_sim/webhooks/subscription", json={"targetUrl": "http://127.0.0.1:1/x", "max_batch": 500,
                                                               "clientSecret": APP_SECRET})
        assert bad.status_code == 400 and set(bad.json()) == {"error", "message"}
        assert "max_batch" in bad.json()["message"]
        flush = admin.post("/_sim/webhooks/flush")
        assert flush.status_code == 409 and set(flush.json()) == {"error", "message"}
        assert admin.get("/_sim/webhooks/deliveries").json()["idle"] is True
