"""Property-based: no input to any endpoint makes the app answer 5xx (over HTTP, devhost + simulators + Azurite)."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import Stack
from tests.support.settings import sample_settings
from tests.support.signed_webhooks import hubspot_headers, now_ms, xero_headers

SETTINGS = sample_settings()
# Local runs draw new examples each time, to find what no one thought of; CI draws the same ones every
# run, so that its verdict is about the change and not the dice. `make fuzz` is a deep random run
# (FUZZ_EXAMPLES, default 2000 per endpoint, about a minute per thousand).
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture],
                derandomize=bool(os.environ.get("CI")))
pytestmark = pytest.mark.e2e

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
timestamps = st.one_of(st.datetimes().map(lambda d: d.isoformat()), st.dates().map(str), texts,
                       st.sampled_from(["2026-11-23T08:00:00Z", "2026-11-23 08:00:00+01:00", "Z", "-1"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5), max_leaves=20)
HUGE = b"[" + b'"\xe2\x82\xac",' * 400_000 + b"0]"  # 2.8 MB of unicode JSON, over the 1 MB limit
UNICODE = json.dumps([{"subscriptionType": "deal.creation", "objectId": "\u0663\u0664", "eventId": "\U0001f600"}],
                     ensure_ascii=False).encode()
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    texts.map(lambda t: t.encode("utf-8")),
    st.integers(min_value=900_000, max_value=1_100_000).map(lambda n: b"[" + b"9," * (n // 2) + b"0]"),
)


def _ok(response: httpx.Response) -> None:
    assert response.status_code < 500, (response.request.method, str(response.request.url), response.text[:300])
    # The app's own refusals are JSON errors; a path no route matches gets the host's plain 404.
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        assert set(body) == {"error", "message"}, body


@pytest.fixture
def http(stack: Stack) -> Any:
    with httpx.Client(base_url=stack.client.base_url, timeout=30) as client:
        yield client


@given(params=st.dictionaries(
    st.sampled_from(["from", "to", "status", "deal", "limit", "continuation", "x"]),
    st.one_of(timestamps, texts, st.integers(-5, 1000).map(str),
              st.sampled_from(["completed", "needs_attention", "eyJwIjoiYSIsInIiOiJiIn0"])), max_size=6))
@example(params={"limit": "\u00b2"})
@example(params={"limit": "\u0663", "deal": "\u0663"})
@FUZZ
def test_list_transactions_never_5xx(http: httpx.Client, params: dict[str, str]) -> None:
    _ok(http.get("/api/transactions", params=params))


@given(tx_id=st.one_of(texts, st.from_regex(r"deal-[A-Za-z0-9_-]{1,70}", fullmatch=True)),
       action=st.one_of(st.sampled_from(["retry", "compensate"]), texts))
@FUZZ
def test_transaction_and_actions_never_5xx(http: httpx.Client, tx_id: str, action: str) -> None:
    segment = quote(tx_id, safe="") or "x"
    _ok(http.get(f"/api/transactions/{segment}"))
    _ok(http.post(f"/api/transactions/{segment}/{quote(action, safe='') or 'x'}"))


@given(body=st.one_of(bodies, st.builds(lambda s: json.dumps({"since": s}).encode(), timestamps)))
@example(body=HUGE)
@example(body=UNICODE)
@FUZZ
def test_start_sync_never_5xx(http: httpx.Client, body: bytes) -> None:
    _ok(http.post("/api/sync", content=body))


# Header values as HTTP allows them (visible ASCII); anything else never reaches the app.
header_values = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40)


# Deliveries shaped like HubSpot's, with odd values where the app reads them.
hubspot_events = st.lists(st.fixed_dictionaries({
    "subscriptionType": st.one_of(st.sampled_from(["deal.creation", "deal.propertyChange"]), texts),
    "objectId": st.one_of(st.integers(), st.from_regex(r"[0-9]{1,25}", fullmatch=True), texts, st.none()),
    "eventId": st.one_of(st.integers(), texts, st.none()),
    "propertyName": st.one_of(st.just("dealstage"), texts),
    "propertyValue": st.one_of(st.just(SETTINGS["HUBSPOT_TRIGGER_STAGE"]), texts),
}), max_size=5).map(lambda events: json.dumps(events).encode())


@given(body=st.one_of(bodies, hubspot_events), signed=st.booleans(),
       stamp=st.one_of(st.none(), header_values, st.integers().map(str)))
@example(body=HUGE, signed=True, stamp=None)
@example(body=UNICODE, signed=True, stamp=None)
@FUZZ
def test_hubspot_webhook_never_5xx(http: httpx.Client, body: bytes, signed: bool, stamp: str | None) -> None:
    url = str(http.base_url).rstrip("/") + "/api/webhooks/hubspot"
    ts = str(now_ms()) if stamp is None else stamp
    headers = {"X-HubSpot-Request-Timestamp": ts}
    if signed and ts.isdigit():
        signed_headers = hubspot_headers(SETTINGS["HUBSPOT_APP_SECRET"], url, body, timestamp_ms=int(ts))
        headers["X-HubSpot-Signature-v3"] = signed_headers["X-HubSpot-Signature-v3"]
    _ok(http.post("/api/webhooks/hubspot", content=body, headers=headers))


@given(body=st.one_of(bodies, st.builds(
    lambda ids, tenant: json.dumps({"events": [{"eventCategory": "INVOICE", "resourceId": i, "tenantId": tenant}
                                               for i in ids]}).encode(),
    st.lists(texts, max_size=3), st.sampled_from([SETTINGS["XERO_TENANT_ID"], "other", None]))),
    signed=st.booleans())
@example(body=HUGE, signed=True)
@example(body=UNICODE, signed=True)
@example(body=json.dumps({"events": [{"eventCategory": "INVOICE", "resourceId": "\b",
                                      "tenantId": SETTINGS["XERO_TENANT_ID"]}]}).encode(), signed=True)
@FUZZ
def test_xero_webhook_never_5xx(http: httpx.Client, body: bytes, signed: bool) -> None:
    headers = xero_headers(SETTINGS["XERO_WEBHOOK_KEY"], body) if signed else {"x-xero-signature": "bad"}
    _ok(http.post("/api/webhooks/xero", content=body, headers=headers))


@given(params=st.dictionaries(st.sampled_from(["from", "to", "limit", "x"]),
                              st.one_of(timestamps, texts, st.integers(-5, 1000).map(str)), max_size=4),
       batch_id=st.one_of(texts, st.from_regex(r"flush-[A-Za-z0-9_.:-]{1,210}", fullmatch=True)))
@example(params={"limit": "\u00b2"}, batch_id="flush-t-invoice-e1-b0\n")
@FUZZ
def test_batches_never_5xx(http: httpx.Client, params: dict[str, str], batch_id: str) -> None:
    _ok(http.get("/api/batches", params=params))
    _ok(http.get(f"/api/batches/{quote(batch_id, safe='') or 'x'}"))
