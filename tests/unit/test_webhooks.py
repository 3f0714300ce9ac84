"""Webhook rules: signatures over the raw body and public URL, the 5-minute window, sizes, what starts a sync,
and a HubSpot delivery answered after one durable start, a replay recognised at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from shared import names
from shared.api import webhooks
from shared.config import Settings, get_settings
from tests.support.fake_client import FakeDurableClient
from tests.support.signed_webhooks import hubspot_delivery, hubspot_headers, now_ms, xero_headers

INV_1 = "5f3b1a52-0c55-4d8e-9d2a-6c0f3f1b7a10"  # Xero ids are GUIDs
INV_2 = "0d9e8b7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
CON_1 = "c0ffee00-0000-4000-8000-000000000001"

URL = "https://sync.example.com/api/webhooks/hubspot"


@pytest.fixture
def settings(app_settings: dict[str, str]) -> Settings:
    return get_settings()


def signed(settings: Settings, events: object, *, url: str = URL, age_ms: int = 0,
           secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    key = secret or settings.hubspot_app_secret.get_secret_value()
    return hubspot_delivery(key, url, events, timestamp_ms=now_ms() - age_ms)


def stage_change(event_id: int, deal: int, stage: str = "closedwon") -> dict[str, object]:
    return {"eventId": event_id, "subscriptionType": "deal.propertyChange", "objectId": deal,
            "propertyName": "dealstage", "propertyValue": stage, "occurredAt": 1, "attemptNumber": 0}


def test_won_and_created_deals_in_a_signed_batch_are_accepted_once_each(settings: Settings) -> None:
    events = [stage_change(1, 10), stage_change(2, 11), stage_change(1, 10), stage_change(3, 10),
              stage_change(4, 12, "appointmentscheduled"),
              {"eventId": 5, "subscriptionType": "deal.creation", "objectId": 13},
              {"eventId": 6, "subscriptionType": "contact.creation", "objectId": 14}]
    body, headers = signed(settings, events)
    decision = webhooks.hubspot("POST", URL, headers, body, settings)
    assert decision.response is None
    assert decision.deal_ids == ["10", "11", "13"]  # event 1 twice is one event; deal 10 twice is one transaction
    assert decision.received == 7 and decision.ignored == 2  # the repeated event 1, a contact
    assert decision.life.events == {"12": "lost"}  # a deal moved to another stage: its life event, not a sync


def decide(settings: Settings, events: list[dict[str, Any]]) -> webhooks.HubSpotDecision:
    body, headers = signed(settings, events)
    decision = webhooks.hubspot("POST", URL, headers, body, settings)
    assert decision.response is None
    return decision


def accept(decision: webhooks.HubSpotDecision, client: FakeDurableClient, settings: Settings) -> dict[str, Any]:
    response = asyncio.run(webhooks.hubspot_accept(decision, client, settings))
    assert response.status == 200
    return dict(json.loads(response.body))


def test_a_delivery_is_answered_after_one_durable_start_that_carries_all_its_deals(settings: Settings) -> None:
    client = FakeDurableClient()
    decision = decide(settings, [stage_change(i, 100 + i) for i in range(100)])
    body = accept(decision, client, settings)
    assert body == {"received": 100, "ignored": 0, "accepted": [f"deal-{100 + i}" for i in range(100)],
                    "batch": decision.batch_id, "duplicate": False}
    # No deal_sync is started inside the request: one webhook_batch is, whatever the number of deals.
    [(orchestrator, instance_id, payload)] = client.starts
    assert (orchestrator, instance_id) == (names.WEBHOOK_BATCH, decision.batch_id)
    assert payload["deal_ids"] == [str(100 + i) for i in range(100)] and payload["trigger"] == "webhook"
    assert payload["policy"]["step_max_attempts"] == settings.step_max_attempts
    assert client.status_reads == [decision.batch_id]


@pytest.mark.parametrize("state", ["Pending", "Running", "Completed"])
def test_a_replayed_delivery_is_a_duplicate_and_starts_nothing(settings: Settings, state: str) -> None:
    client = FakeDurableClient()
    decision = decide(settings, [stage_change(1, 10), stage_change(2, 11)])
    accept(decision, client, settings)
    assert decision.batch_id is not None
    client.finish(decision.batch_id, state)  # a completed batch is not restarted, as the host would do
    replay = accept(decide(settings, [stage_change(1, 10), stage_change(2, 11)]), client, settings)
    assert replay["duplicate"] is True and replay["accepted"] == ["deal-10", "deal-11"]
    assert len(client.starts) == 1


@pytest.mark.parametrize("state", ["Failed", "Terminated"])
def test_a_redelivery_of_a_batch_that_failed_to_start_its_deals_starts_it_again(settings: Settings,
                                                                                 state: str) -> None:
    client = FakeDurableClient()
    decision = decide(settings, [stage_change(1, 10)])
    assert decision.batch_id is not None
    client.finish(decision.batch_id, state)
    assert accept(decision, client, settings)["duplicate"] is False
    assert client.started_ids(names.WEBHOOK_BATCH) == [decision.batch_id]


def test_the_batch_id_depends_only_on_the_accepted_events(settings: Settings) -> None:
    first = decide(settings, [stage_change(1, 10), stage_change(2, 11)])
    # HubSpot redelivers with a new attemptNumber, in another order, with other (ignored) events around.
    again = decide(settings, [{**stage_change(2, 11), "attemptNumber": 3}, stage_change(9, 12, "qualified"),
                              {**stage_change(1, 10), "attemptNumber": 3}])
    more = decide(settings, [stage_change(1, 10), stage_change(2, 11), stage_change(3, 12)])
    other_deal = decide(settings, [stage_change(1, 10), stage_change(2, 13)])
    assert first.batch_id == again.batch_id
    assert first.batch_id is not None and first.batch_id.startswith(names.WEBHOOK_BATCH_PREFIX)
    assert len({first.batch_id, more.batch_id, other_deal.batch_id}) == 3


def test_an_event_id_with_a_lone_surrogate_still_gets_a_batch_and_its_deal_synced(settings: Settings) -> None:
    # json.dumps writes "\ud800" as an escape; json.loads gives back a str no UTF-8 encoder takes.
    decision = decide(settings, [{**stage_change(1, 10), "eventId": "\ud800"}])
    client = FakeDurableClient()
    assert accept(decision, client, settings)["accepted"] == ["deal-10"]
    assert client.started_ids(names.WEBHOOK_BATCH) == [decision.batch_id]


def test_a_delivery_with_nothing_to_sync_is_answered_without_starting_anything(settings: Settings) -> None:
    client = FakeDurableClient()
    contact = {"eventId": 2, "subscriptionType": "contact.creation", "objectId": 5}
    other = {"eventId": 3, "subscriptionType": "deal.propertyChange", "objectId": 6, "propertyName": "dealname"}
    decision = decide(settings, [contact, other])
    assert accept(decision, client, settings) == {"received": 2, "ignored": 2, "accepted": [], "batch": None,
                                                  "duplicate": False}
    assert client.starts == [] and client.status_reads == []


def test_a_delivery_of_life_events_only_starts_their_batch_and_no_sync(settings: Settings) -> None:
    client = FakeDurableClient()
    amount = {"eventId": 2, "subscriptionType": "deal.propertyChange", "objectId": 11, "propertyName": "amount",
              "propertyValue": "750"}
    deletion = {"eventId": 3, "subscriptionType": "deal.deletion", "objectId": 12}
    decision = decide(settings, [stage_change(1, 10, "qualified"), amount, deletion, {**amount, "eventId": 4}])
    body = accept(decision, client, settings)
    assert body["accepted"] == [] and body["batch"] is None and body["ignored"] == 0
    assert body["life_events"] == ["10", "11", "12"] and body["life_duplicate"] is False
    assert client.started_ids(names.WEBHOOK_BATCH) == [] and client.started_ids(names.LIFE_EVENT_BATCH) == [
        body["life_batch"]]
    # The same delivery again is recognised by one status read: nothing new is started.
    assert accept(decision, client, settings)["life_duplicate"] is True
    assert len(client.starts) == 1


def test_a_concurrent_delivery_of_the_same_events_is_a_duplicate(settings: Settings) -> None:
    client = FakeDurableClient()
    decision = decide(settings, [stage_change(1, 10)])
    assert decision.batch_id is not None
    batch_id = decision.batch_id
    client.before_start = lambda iid: client.finish(batch_id, "Running")  # the other delivery got there first
    assert accept(decision, client, settings)["duplicate"] is True
    assert client.starts == []


def test_an_unreachable_task_hub_answers_503_so_that_hubspot_delivers_again(settings: Settings) -> None:
    decision = decide(settings, [stage_change(1, 10)])
    assert decision.batch_id is not None
    client = FakeDurableClient(refuse={decision.batch_id: 1})
    response = asyncio.run(webhooks.hubspot_accept(decision, client, settings))
    assert response.status == 503 and json.loads(response.body)["error"] == "unavailable"
    assert client.starts == []  # nothing was accepted


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
    headers = hubspot_headers(settings.hubspot_app_secret.get_secret_value(), URL, payload)
    decision = webhooks.hubspot("POST", URL, headers, payload, settings)
    assert decision.response is not None and decision.response.status == status


def test_oversized_bodies_get_413_before_any_parsing(settings: Settings) -> None:
    decision = webhooks.hubspot("POST", URL, {}, b"[" + b" " * settings.webhook_max_body_bytes + b"]", settings)
    assert decision.response is not None and decision.response.status == 413


def test_xero_intent_to_receive_answers_200_empty_when_signed_and_401_otherwise(settings: Settings) -> None:
    body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"}).encode()
    ok = webhooks.xero(xero_headers(settings.xero_webhook_key.get_secret_value(), body), body, settings)
    assert (ok.response.status, ok.response.body) == (200, "")
    bad = webhooks.xero(xero_headers("other-key", body), body, settings)
    assert (bad.response.status, bad.response.body) == (401, "")


def test_xero_invoice_events_name_the_invoices_to_check(settings: Settings) -> None:
    events = {"events": [
        {"resourceId": INV_1, "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": settings.xero_tenant_id},
        {"resourceId": INV_1, "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": settings.xero_tenant_id},
        {"resourceId": CON_1, "eventCategory": "CONTACT", "eventType": "UPDATE", "tenantId": settings.xero_tenant_id},
        {"resourceId": INV_2, "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": "another-org"}]}
    body = json.dumps(events).encode()
    decision = webhooks.xero(xero_headers(settings.xero_webhook_key.get_secret_value(), body), body,
                             settings)
    assert decision.paid_invoice_ids == [INV_1]


def test_an_invoice_created_event_starts_nothing_and_costs_no_xero_read(settings: Settings) -> None:
    # A new invoice cannot have been paid yet: Xero reports each one the app makes (CREATE), and reading it
    # back would spend one Xero call per deal for nothing. Its payments come as UPDATE events.
    events = {"events": [
        {"resourceId": INV_2, "eventCategory": "INVOICE", "eventType": "CREATE", "tenantId": settings.xero_tenant_id},
        {"resourceId": INV_1, "eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": settings.xero_tenant_id}]}
    body = json.dumps(events).encode()
    key = settings.xero_webhook_key.get_secret_value()
    assert webhooks.xero(xero_headers(key, body), body, settings).paid_invoice_ids == [INV_1]
    created = json.dumps({"events": events["events"][:1]}).encode()
    decision = webhooks.xero(xero_headers(key, created), created, settings)
    client = FakeDurableClient()
    response = asyncio.run(webhooks.xero_accept(decision, client))
    assert (response.status, response.body, decision.paid_invoice_ids, client.started_ids()) == (200, "", [], [])


def test_an_invoice_event_whose_resource_id_is_not_a_xero_guid_is_acknowledged_and_ignored(
        settings: Settings) -> None:
    # A control character or a '/' would reach the task hub inside an instance id, which refuses it:
    # the answer would be an error and Xero would deliver the same event again, forever.
    odd = ["\b", "inv-1", "a/b", INV_1 + "x", INV_1.replace("a", "\u0663"), "", " " + INV_1]
    body = json.dumps({"events": [{"resourceId": r, "eventCategory": "INVOICE", "eventType": "UPDATE",
                                   "tenantId": settings.xero_tenant_id} for r in odd]}).encode()
    decision = webhooks.xero(xero_headers(settings.xero_webhook_key.get_secret_value(), body), body,
                             settings)
    assert (decision.response.status, decision.paid_invoice_ids) == (200, [])


def test_an_invoice_guid_in_capitals_is_the_same_invoice(settings: Settings) -> None:
    body = json.dumps({"events": [{"resourceId": r, "eventCategory": "INVOICE", "eventType": "UPDATE",
                                   "tenantId": settings.xero_tenant_id} for r in (INV_1.upper(), INV_1)]}).encode()
    decision = webhooks.xero(xero_headers(settings.xero_webhook_key.get_secret_value(), body), body,
                             settings)
    assert decision.paid_invoice_ids == [INV_1]


def _paid_delivery(settings: Settings, invoice_id: str) -> webhooks.XeroDecision:
    body = json.dumps({"events": [{"resourceId": invoice_id, "eventCategory": "INVOICE", "eventType": "UPDATE",
                                   "tenantId": settings.xero_tenant_id}]}).encode()
    return webhooks.xero(xero_headers(settings.xero_webhook_key.get_secret_value(), body), body,
                         settings)


def test_a_paid_invoice_delivery_is_handed_to_one_batch_once_and_answers_xero_with_an_empty_200(
        settings: Settings) -> None:
    client = FakeDurableClient()
    decision = _paid_delivery(settings, INV_1)
    first = asyncio.run(webhooks.xero_accept(decision, client))
    client.finish(str(decision.batch_id))
    again = asyncio.run(webhooks.xero_accept(_paid_delivery(settings, INV_1), client))  # Xero redelivers
    assert (first.status, first.body, again.status) == (200, "", 200)
    assert str(decision.batch_id).startswith(names.PAID_BATCH_PREFIX)
    assert client.started_ids(names.PAID_INVOICE_BATCH) == [decision.batch_id]
    [(_, _, batch_input)] = client.starts
    assert batch_input == {"invoice_ids": [INV_1], "batch_id": ""}
    assert client.started_ids(names.INVOICE_PAID) == []  # the batch starts the write-backs, off the request path


def test_a_new_delivery_of_the_same_event_is_another_batch_and_a_redelivery_the_same(settings: Settings) -> None:
    event = {"resourceId": INV_1, "eventCategory": "INVOICE", "eventType": "UPDATE",
             "tenantId": settings.xero_tenant_id}

    def batch_of(first: int, entropy: str) -> str | None:
        body = json.dumps({"events": [event], "firstEventSequence": first, "lastEventSequence": first,
                           "entropy": entropy}).encode()
        return webhooks.xero(xero_headers(settings.xero_webhook_key.get_secret_value(), body), body, settings).batch_id

    assert batch_of(7, "A") == batch_of(7, "B") != batch_of(8, "A")


def test_an_unreachable_task_hub_answers_xero_503_so_that_the_paid_event_is_delivered_again(
        settings: Settings) -> None:
    decision = _paid_delivery(settings, INV_1)
    client = FakeDurableClient(refuse={str(decision.batch_id): 1})
    response = asyncio.run(webhooks.xero_accept(decision, client))
    assert response.status == 503 and json.loads(response.body)["error"] == "unavailable"
    assert client.started_ids() == []  # not counted as a duplicate either
