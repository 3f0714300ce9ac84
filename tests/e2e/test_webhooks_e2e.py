"""Webhooks end to end over HTTP: devhost running the unmodified app, Azurite, HubSpot and Xero simulators.

The signing secrets are the local values from local.settings.sample.json; the signed URL is the exact URL called.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.support.crm_data import create_won_deal
from tests.support.settings import sample_settings
from tests.support.signed_webhooks import hubspot_headers as signed_hubspot_headers
from tests.support.signed_webhooks import now_ms, xero_headers

SETTINGS = sample_settings()
HUBSPOT_SECRET = SETTINGS["HUBSPOT_APP_SECRET"]
XERO_KEY = SETTINGS["XERO_WEBHOOK_KEY"]
HUBSPOT_PATH = "/api/webhooks/hubspot"
XERO_PATH = "/api/webhooks/xero"


def post(stack: Stack, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(stack.client.base_url + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers.items())


def hubspot_headers(stack: Stack, body: bytes, *, timestamp_ms: int | None = None,
                    secret: str = HUBSPOT_SECRET) -> dict[str, str]:
    return signed_hubspot_headers(secret, stack.client.base_url + HUBSPOT_PATH, body, timestamp_ms=timestamp_ms)


def won_event(deal_id: str, event_id: int) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 1, "portalId": 1000001, "appId": 1, "occurredAt": 1,
            "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": int(deal_id),
            "propertyName": "dealstage", "propertyValue": "closedwon", "changeSource": "CRM_UI"}


def error_of(raw: bytes) -> dict[str, Any]:
    body = json.loads(raw)
    assert set(body) == {"error", "message"}, body
    return dict(body)


@pytest.mark.e2e
def test_signed_hubspot_batch_is_accepted_at_once_starts_each_transaction_once_and_replay_starts_none(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    deals = [create_won_deal(stack.sims.hubspot_url, company=f"Webhook Co {i}") for i in range(3)]
    events = [won_event(d.deal_id, 9000 + i) for i, d in enumerate(deals)]
    events.append({"eventId": 9100, "subscriptionType": "contact.creation", "objectId": 5})  # ignored
    body = json.dumps(events).encode()
    headers = hubspot_headers(stack, body)

    status, raw, _ = post(stack, HUBSPOT_PATH, body, headers)
    assert status == 200, raw
    first = json.loads(raw)
    expected = [f"deal-{d.deal_id}" for d in deals]
    assert first == {"received": 4, "ignored": 1, "accepted": expected, "batch": first["batch"], "duplicate": False}
    assert str(first["batch"]).startswith("hswh-")

    # The transactions are started off the request path, by the batch orchestration: each once.
    batch = stack.client.wait(first["batch"], timeout=60)
    assert batch["runtimeStatus"] == "Completed", batch
    assert batch["output"] == {"accepted": expected, "started": expected, "duplicates": [], "waited_for": []}
    for tx in expected:
        done = stack.client.wait(tx, timeout=60)
        assert done["runtimeStatus"] == "Completed" and done["output"]["status"] == "completed", done
    assert len(stack.sims.xero.state()["invoices"]) == 3

    # The same delivery again (HubSpot retries with the same bytes and signature): a duplicate at once,
    # the batch is not run again and no transaction is started again.
    runs = start_runs(stack)
    status, raw, _ = post(stack, HUBSPOT_PATH, body, headers)
    assert status == 200, raw
    assert json.loads(raw) == {**first, "duplicate": True}
    time.sleep(0.5)
    assert start_runs(stack) == runs
    again = stack.client.status(first["batch"])
    assert again is not None and again["runtimeStatus"] == "Completed"

    # New events for the same deals (a stage moved away and back): a new batch, but every transaction exists.
    newer = json.dumps([won_event(d.deal_id, 9200 + i) for i, d in enumerate(deals)]).encode()
    status, raw, _ = post(stack, HUBSPOT_PATH, newer, hubspot_headers(stack, newer))
    assert status == 200, raw
    second = json.loads(raw)
    assert second["batch"] != first["batch"] and second["duplicate"] is False
    rerun = stack.client.wait(second["batch"], timeout=60)
    assert rerun["output"] == {"accepted": expected, "started": [], "duplicates": expected, "waited_for": []}, rerun
    assert start_runs(stack) == runs + 1
    time.sleep(0.5)
    assert len(stack.sims.xero.state()["invoices"]) == 3


def start_runs(stack: Stack) -> int:
    """How many times the activity that starts a batch's deal syncs has run on this devhost."""
    return int(stack.client.stats()["activity_executions"].get("start_deal_syncs", 0))


@pytest.mark.e2e
def test_a_batch_whose_start_activity_runs_twice_still_starts_each_transaction_once(fresh_stack: Stack) -> None:
    stack = fresh_stack
    deals = [create_won_deal(stack.sims.hubspot_url, company=f"Twice Co {i}") for i in range(2)]
    # The host loses the activity's result after its starts happened and runs it again (at least once).
    stack.client.add_fault("start_deal_syncs", "crash_after", times=1)
    runs = start_runs(stack)
    body = json.dumps([won_event(d.deal_id, 9300 + i) for i, d in enumerate(deals)]).encode()
    status, raw, _ = post(stack, HUBSPOT_PATH, body, hubspot_headers(stack, body))
    assert status == 200, raw
    accepted = json.loads(raw)
    expected = [f"deal-{d.deal_id}" for d in deals]
    batch = stack.client.wait(accepted["batch"], timeout=60)
    assert batch["runtimeStatus"] == "Completed", batch
    assert batch["output"]["duplicates"] == expected  # the second run found what the first had started
    # Two runs at least (the lost one and its re-run); a third when the re-run met a transaction still finishing
    # and asked again once it had ended (a win is never swallowed as a duplicate). Each starts nothing twice:
    assert start_runs(stack) >= runs + 2
    for tx in expected:
        assert stack.client.wait(tx, timeout=60)["output"]["status"] == "completed"
    assert len(stack.sims.xero.state()["invoices"]) == 2


@pytest.mark.e2e
def test_hubspot_refuses_bad_signature_stale_timestamp_malformed_and_oversized_bodies(stack: Stack) -> None:
    body = json.dumps([won_event("123", 1)]).encode()

    status, raw, _ = post(stack, HUBSPOT_PATH, body, hubspot_headers(stack, body, secret="not-the-secret"))
    assert status == 401 and error_of(raw)["error"] == "invalid_signature"
    status, raw, _ = post(stack, HUBSPOT_PATH, body, {})
    assert status == 401 and error_of(raw)["error"] == "invalid_signature"

    stale = now_ms() - 6 * 60 * 1000
    status, raw, _ = post(stack, HUBSPOT_PATH, body, hubspot_headers(stack, body, timestamp_ms=stale))
    assert status == 401 and error_of(raw)["error"] == "invalid_signature"

    for malformed in (b"{not json", b'{"an": "object"}', b"[1, 2]", "[\"\udcff\"]".encode("utf-8", "surrogatepass")):
        status, raw, _ = post(stack, HUBSPOT_PATH, malformed, hubspot_headers(stack, malformed))
        assert status == 400, (malformed, raw)
        assert error_of(raw)["error"] == "malformed_body"

    huge = b"[" + b" " * int(SETTINGS["WEBHOOK_MAX_BODY_BYTES"]) + b"]"
    status, raw, _ = post(stack, HUBSPOT_PATH, huge, hubspot_headers(stack, huge))
    assert status == 413 and error_of(raw)["error"] == "payload_too_large"


@pytest.mark.e2e
def test_xero_intent_to_receive_passes(stack: Stack) -> None:
    # Xero's own check, as the simulator plays it: a signed empty payload gets 200 with an empty body,
    # a badly signed one 401.
    result = stack.sims.xero.config()  # the simulator is up and configurable
    assert isinstance(result, dict)
    url = stack.client.base_url + XERO_PATH
    intent = stack.sims.xero._call("POST", "/_sim/webhooks/intent", {"url": url, "key": XERO_KEY})
    assert intent == {"passed": True, "signed": 200, "badly_signed": 401}

    # And directly, byte for byte.
    body = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "ABC"}).encode()
    status, raw, _ = post(stack, XERO_PATH, body, xero_headers(XERO_KEY, body))
    assert (status, raw) == (200, b"")
    status, raw, _ = post(stack, XERO_PATH, body, xero_headers(XERO_KEY + "x", body))
    assert (status, raw) == (401, b"")
    status, raw, _ = post(stack, XERO_PATH, body, {})
    assert (status, raw) == (401, b"")
    huge = b" " * (int(SETTINGS["WEBHOOK_MAX_BODY_BYTES"]) + 1)
    status, raw, _ = post(stack, XERO_PATH, huge, xero_headers(XERO_KEY, huge))
    assert status == 413
    status, raw, _ = post(stack, XERO_PATH, b"{nope", xero_headers(XERO_KEY, b"{nope"))
    assert status == 400 and error_of(raw)["error"] == "malformed_body"


def _deal_patches(stack: Stack, deal_id: str, since: int) -> int:
    return sum(1 for r in stack.sims.hubspot.requests()[since:]
               if r.get("method") == "PATCH" and str(r.get("path", "")).endswith(f"/deals/{deal_id}"))


@pytest.mark.e2e
def test_paid_invoice_is_written_back_to_the_deal_once(stack: Stack) -> None:
    deal = create_won_deal(stack.sims.hubspot_url, company="Paid Promptly Ltd")
    assert stack.run_deal(deal.deal_id)["output"]["status"] == "completed"
    invoice_id = stack.sims.xero.state()["invoices"][0]["InvoiceID"]
    paid_instance = f"paid-{invoice_id}"
    before = len(stack.sims.hubspot.requests())

    # The connection is for the app's tenant: events name it (the app ignores other tenants' events).
    stack.sims.xero.config(tenant_ids=[SETTINGS["XERO_TENANT_ID"]])
    stack.sims.xero.set_webhook(stack.client.base_url + XERO_PATH, XERO_KEY)
    paid = stack.sims.xero.pay_invoice(invoice_id, wait_for_webhook=True)
    assert paid["invoice"]["Status"] == "PAID"
    assert paid["webhook"]["status"] == 200, paid["webhook"]
    done = stack.client.wait(paid_instance, timeout=60)
    assert done["runtimeStatus"] == "Completed", done
    assert done["output"]["outcome"] == "marked_paid", done

    props = stack.sims.hubspot.state()["objects"]["deals"][deal.deal_id]["properties"]
    assert props["invoice_paid_status"] == "paid"
    assert props["invoice_paid_date"]
    assert _deal_patches(stack, deal.deal_id, before) == 1

    # Xero delivers the event again (a retry, or a later update of the paid invoice): nothing changes.
    body = json.dumps({"events": [{
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_id}", "resourceId": invoice_id,
        "eventDateUtc": "2026-11-23T10:00:00.000", "eventType": "UPDATE", "eventCategory": "INVOICE",
        "tenantId": SETTINGS["XERO_TENANT_ID"], "tenantType": "ORGANISATION"}],
        "firstEventSequence": 7, "lastEventSequence": 7, "entropy": "REPLAY"}).encode()
    status, raw, _ = post(stack, XERO_PATH, body, xero_headers(XERO_KEY, body))
    assert (status, raw) == (200, b"")
    time.sleep(1.0)
    again = stack.client.wait(paid_instance, timeout=60)
    assert again["runtimeStatus"] == "Completed"
    after = stack.sims.hubspot.state()["objects"]["deals"][deal.deal_id]["properties"]
    assert after == props
    assert _deal_patches(stack, deal.deal_id, before) == 1


def created_event(deal_id: str, event_id: int) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 2, "portalId": 1000001, "appId": 1, "occurredAt": 1,
            "subscriptionType": "deal.creation", "attemptNumber": 0, "objectId": int(deal_id),
            "changeSource": "CRM_UI"}


@pytest.mark.e2e
def test_a_deal_created_before_it_is_won_is_invoiced_when_it_is_won(fresh_stack: Stack) -> None:
    """The everyday order: HubSpot reports the new deal (not won: nothing to do), and weeks later its win."""
    stack = fresh_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Early Bird", stage="appointmentscheduled")
    tx = f"deal-{deal.deal_id}"
    body = json.dumps([created_event(deal.deal_id, 9500)]).encode()
    status, raw, _ = post(stack, HUBSPOT_PATH, body, hubspot_headers(stack, body))
    assert status == 200, raw
    first = stack.client.wait(tx, timeout=60)
    assert first["output"]["status"] == "skipped", first["output"]

    won = httpx.patch(f"{stack.sims.hubspot_url}/crm/objects/2026-09/deals/{deal.deal_id}", timeout=10,
                      headers={"Authorization": "Bearer test-token"}, json={"properties": {"dealstage": "closedwon"}})
    assert won.status_code == 200, won.text
    body = json.dumps([won_event(deal.deal_id, 9501)]).encode()
    status, raw, _ = post(stack, HUBSPOT_PATH, body, hubspot_headers(stack, body))
    assert status == 200, raw
    batch = stack.client.wait(json.loads(raw)["batch"], timeout=60)
    assert batch["output"]["duplicates"] == [], batch["output"]  # a skipped transaction does not block the win
    started = batch["output"]["started"]
    [won_tx] = started
    done = stack.client.wait(won_tx, timeout=60)
    assert done["output"]["status"] == "completed", done["output"]
    [invoice] = stack.sims.xero.state()["invoices"]
    # What a person sees agrees with what happened: the API (the entity) and the ledger say completed.
    _, state = stack.client.read_entity("sync_transaction", won_tx)
    assert state["status"] == "completed" and state["external_ids"]["invoice"] == invoice["InvoiceID"], state
    rows = stack.ledger_rows(deal.deal_id)
    assert sorted(r["status"] for r in rows) == (["completed", "skipped"] if won_tx != tx else ["completed"]), rows
