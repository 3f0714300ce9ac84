"""Issue #8, bad input: every endpoint, fed what no honest client sends, refuses it and starts nothing.

Explicit cases that complement the property-based ``tests/e2e/test_endpoints_fuzz_e2e.py`` (which checks
"never 5xx" on random input): malformed JSON (nested 100,000 deep too), wrong JSON types, bodies over the
limit, unicode edge cases (NUL, lone surrogates escaped in JSON, invalid UTF-8, right-to-left overrides,
4-byte emoji, digits that are not ASCII), missing and forged signatures, and header values outside ASCII.
Those are sent as UTF-8, as the Functions host passes them on (it answers 400 itself to header bytes that
are not UTF-8, so those never reach the app).

Every refusal is a 4xx with exactly ``{"error", "message"}``, except Xero's bare 401 (its protocol). A
signed delivery whose events are unusable is acknowledged with 200 (the vendor would otherwise redeliver
it for days) and ignored. Afterwards devhost has not run an orchestration, activity or entity operation,
and neither simulator received a request or changed.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack, module_host
from tests.e2e.saga_helpers import wait_for
from tests.reliability.figures import report
from tests.reliability.helpers import HUBSPOT_WEBHOOK, XERO_WEBHOOK, setting
from tests.support.signed_webhooks import hubspot_headers, now_ms, xero_headers

pytestmark = pytest.mark.e2e

LIMIT = 1_000_000  # WEBHOOK_MAX_BODY_BYTES as the sample settings set it
HUGE = b'[{"eventId": 1, "pad": "' + b"\xf0\x9f\x98\x80" * (LIMIT // 4 + 10) + b'"}]'  # 4-byte emoji, over 1 MB
MALFORMED = {
    "truncated": b'[{"eventId": 1, ',
    "trailing-comma": b'[{"eventId": 1,}]',
    "single-quotes": b"[{'eventId': 1}]",
    "empty": b"",
    "nul-byte": b"[\x00]",
    "invalid-utf8": b'["\xff\xfe\xfd"]',
    "raw-lone-surrogate": '["\udc80"]'.encode("utf-8", "surrogatepass"),
    "bom-then-wrong-type": b"\xef\xbb\xbf[1]",
    "nan": b"[NaN]",
    "deep-nesting": b"[" * 100_000 + b"]" * 100_000,
}
# Valid JSON, odd text: each escaped as JSON allows (\\u0000, a lone \\ud800) or sent raw as UTF-8.
ODD_TEXT = {
    "nul": "\u0000",
    "lone-high-surrogate": "\ud800",
    "lone-low-surrogate": "\udfff",
    "rtl-override": "\u202e12345",
    "hebrew": "\u05e9\u05dc\u05d5\u05dd",
    "emoji": "\U0001f600",
    "arabic-indic-digits": "\u0663\u0664",
    "fullwidth-digits": "\uff11\uff12",
    "superscript-two": "\u00b2",
    "backspace": "\b",
    "slash-and-hash": "a/b#c?d",
}


def dumps(value: Any, *, raw: bool = False) -> bytes:
    """JSON with non-ASCII escaped (lone surrogates become ``\\udXXX``), or raw UTF-8 where it can be."""
    return json.dumps(value, ensure_ascii=not raw).encode("utf-8", "surrogatepass")


@dataclass
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    expect: str = "refused"  # refused: 4xx JSON error; bare401: Xero's; ignored: 200, nothing started; any: < 500
    status: int | None = None  # the exact status, when it is known


stack_host = module_host()


def hubspot_signed(stack: Stack, body: bytes, *, secret: str | None = None, timestamp_ms: int | None = None,
                   **overrides: Any) -> dict[str, Any]:
    """HubSpot's headers for ``body`` (the app's secret unless given); an override of None drops a header."""
    url = stack.client.base_url + HUBSPOT_WEBHOOK
    headers: dict[str, Any] = hubspot_headers(secret or setting(stack, "HUBSPOT_APP_SECRET"), url, body,
                                              timestamp_ms=timestamp_ms)
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def hubspot_cases(stack: Stack) -> list[Case]:
    event = {"eventId": 1, "subscriptionType": "deal.propertyChange", "objectId": 987654321,
             "propertyName": "dealstage", "propertyValue": "closedwon"}
    good = dumps([event])
    cases = [
        Case("no-signature", "POST", HUBSPOT_WEBHOOK, good, {"Content-Type": "application/json"}, status=401),
        Case("forged-signature", "POST", HUBSPOT_WEBHOOK, good,
             hubspot_signed(stack, good, secret="guess"), status=401),
        Case("signature-of-other-body", "POST", HUBSPOT_WEBHOOK, good,
             hubspot_signed(stack, dumps([{**event, "objectId": 1}])), status=401),
        Case("no-timestamp", "POST", HUBSPOT_WEBHOOK, good,
             hubspot_signed(stack, good, **{"X-HubSpot-Request-Timestamp": None}), status=401),
        Case("stale-timestamp", "POST", HUBSPOT_WEBHOOK, good,
             hubspot_signed(stack, good, timestamp_ms=now_ms() - 10 * 60_000), status=401),
        Case("signature-not-ascii", "POST", HUBSPOT_WEBHOOK, good,
             hubspot_signed(stack, good, **{"X-HubSpot-Signature-v3": "\u00e9\u00e8".encode()}),
             status=401),
        Case("timestamp-superscript-digit", "POST", HUBSPOT_WEBHOOK, good,
             hubspot_signed(stack, good, **{"X-HubSpot-Request-Timestamp": "\u00b2".encode()}),
             status=401),
        Case("timestamp-arabic-indic-digits", "POST", HUBSPOT_WEBHOOK, good,
             hubspot_signed(stack, good, **{"X-HubSpot-Request-Timestamp": "\u0663\u0664".encode()}), status=401),
        Case("huge-unsigned", "POST", HUBSPOT_WEBHOOK, HUGE, {"Content-Type": "application/json"}, status=413),
        Case("huge-signed", "POST", HUBSPOT_WEBHOOK, HUGE, hubspot_signed(stack, HUGE), status=413),
    ]
    many = dumps([{**event, "eventId": i} for i in range(101)])
    cases.append(Case("too-many-events", "POST", HUBSPOT_WEBHOOK, many, hubspot_signed(stack, many), status=400))
    cases += [Case(f"signed-{name}", "POST", HUBSPOT_WEBHOOK, body, hubspot_signed(stack, body), status=400)
              for name, body in MALFORMED.items()]
    for name, value in {"object": {"events": [event]}, "string": "closedwon", "number": 1, "null": None,
                        "array-of-numbers": [1, 2], "array-of-arrays": [[event]], "array-of-null": [None]}.items():
        body = dumps(value)
        cases.append(Case(f"signed-wrong-type-{name}", "POST", HUBSPOT_WEBHOOK, body, hubspot_signed(stack, body),
                          status=400))
    # Well-formed, signed, but no event names a deal to sync: acknowledged and ignored.
    for name, text in ODD_TEXT.items():
        for raw in (False, True):
            if raw and name.startswith("lone"):
                continue  # not encodable as UTF-8: covered by raw-lone-surrogate above
            events = [{**event, "eventId": text, "objectId": text},
                      {**event, "eventId": 2, "objectId": f"9{text}"},
                      {**event, "eventId": 3, "propertyValue": f"closedwon{text}"},
                      {**event, "eventId": 4, "subscriptionType": f"deal.creation{text}"}]
            body = dumps(events, raw=raw)
            cases.append(Case(f"signed-odd-{name}{'-raw' if raw else ''}", "POST", HUBSPOT_WEBHOOK, body,
                              hubspot_signed(stack, body), expect="ignored"))
    for name, object_id in {"float": 1.5, "bool": True, "negative": -5, "huge-int": 10**30, "list": [1],
                            "object": {"id": 1}, "null": None}.items():
        body = dumps([{**event, "objectId": object_id}])
        cases.append(Case(f"signed-objectId-{name}", "POST", HUBSPOT_WEBHOOK, body, hubspot_signed(stack, body),
                          expect="ignored"))
    return cases


def xero_cases(stack: Stack) -> list[Case]:
    key = setting(stack, "XERO_WEBHOOK_KEY")
    tenant = setting(stack, "XERO_TENANT_ID")

    def signed(body: bytes) -> dict[str, Any]:
        return xero_headers(key, body)

    good = dumps({"events": [{"eventCategory": "INVOICE", "eventType": "UPDATE", "tenantId": tenant,
                              "resourceId": "5f3b1a52-0c55-4d8e-9d2a-6c0f3f1b7a10"}],
                  "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"})
    cases = [
        Case("no-signature", "POST", XERO_WEBHOOK, good, {"Content-Type": "application/json"}, expect="bare401"),
        Case("forged-signature", "POST", XERO_WEBHOOK, good, xero_headers("guess", good),
             expect="bare401"),
        Case("signature-of-other-body", "POST", XERO_WEBHOOK, good, signed(good + b" "), expect="bare401"),
        Case("signature-not-ascii", "POST", XERO_WEBHOOK, good, {"x-xero-signature": "\u00e9".encode()},
             expect="bare401"),
        Case("huge-signed", "POST", XERO_WEBHOOK, HUGE, signed(HUGE), status=413),
        Case("huge-unsigned", "POST", XERO_WEBHOOK, HUGE, {}, status=413),
    ]
    cases += [Case(f"signed-{name}", "POST", XERO_WEBHOOK, body, signed(body), status=400)
              for name, body in MALFORMED.items()]
    for name, value in {"array": [], "string": "x", "null": None, "events-string": {"events": "x"},
                        "events-object": {"events": {"resourceId": "x"}}}.items():
        body = dumps(value)
        cases.append(Case(f"signed-wrong-type-{name}", "POST", XERO_WEBHOOK, body, signed(body), status=400))
    # Signed and well-formed, but no paid invoice of this organisation in it: acknowledged and ignored.
    for name, text in ODD_TEXT.items():
        events = [{"eventCategory": "INVOICE", "tenantId": "another-organisation", "resourceId": text},
                  {"eventCategory": f"INVOICE{text}", "tenantId": tenant, "resourceId": "a"},
                  {"eventCategory": "INVOICE", "tenantId": f"{tenant}{text}", "resourceId": "b"},
                  {"eventCategory": "INVOICE", "tenantId": tenant, "resourceId": 7},
                  # Our organisation, but not a Xero GUID: it cannot name an invoice (nor an instance id).
                  {"eventCategory": "INVOICE", "tenantId": tenant, "resourceId": text}]
        body = dumps({"events": events})
        cases.append(Case(f"signed-odd-{name}", "POST", XERO_WEBHOOK, body, signed(body), expect="ignored"))
    return cases


def sync_cases() -> list[Case]:
    # An empty body is a plain "sync now"; a body over 4 KiB is refused before parsing (413).
    cases = [Case(f"{name}", "POST", "/api/sync", body, status=413 if len(body) > 4096 else 400)
             for name, body in MALFORMED.items() if name != "empty"]
    for name, value in {"array": [], "string": "2026-11-01", "number": 20261101, "null-json": None,
                        "since-number": {"since": 20261101}, "since-list": {"since": ["2026-11-01"]},
                        "since-object": {"since": {"date": "2026-11-01"}}, "since-bool": {"since": True},
                        "since-words": {"since": "last tuesday"}, "since-empty": {"since": ""},
                        "since-long": {"since": "2026-11-01" + "0" * 100}}.items():
        cases.append(Case(name, "POST", "/api/sync", dumps(value), status=400))
    cases.append(Case("since-huge", "POST", "/api/sync", dumps({"since": "9" * LIMIT}), status=413))
    for name, text in ODD_TEXT.items():
        cases.append(Case(f"since-{name}", "POST", "/api/sync", dumps({"since": f"2026-11-01{text}"}), status=400))
        cases.append(Case(f"since-only-{name}", "POST", "/api/sync", dumps({"since": text}), status=400))
    cases.append(Case("since-unicode-digit-date", "POST", "/api/sync",
                      dumps({"since": "\u0662\u0660\u0662\u0666-\u0661\u0661-\u0660\u0661"}), status=400))
    return cases


def transactions_cases() -> list[Case]:
    params: dict[str, dict[str, str]] = {
        "limit-word": {"limit": "ten"}, "limit-zero": {"limit": "0"}, "limit-over": {"limit": "501"},
        "limit-negative": {"limit": "-1"}, "limit-superscript": {"limit": "\u00b2"},
        "limit-arabic-indic": {"limit": "\u0663"}, "limit-fullwidth": {"limit": "\uff15"},
        "limit-float": {"limit": "1.5"}, "limit-nul": {"limit": "5\u0000"},
        "from-words": {"from": "yesterday"}, "from-after-to": {"from": "2026-11-02", "to": "2026-11-01"},
        "window-too-wide": {"from": "2026-01-01", "to": "2026-11-01"}, "to-rtl": {"to": "\u202e2026-11-01"},
        "from-emoji": {"from": "\U0001f600"}, "from-nul": {"from": "2026-11-01\u0000"},
        "status-unknown": {"status": "done"}, "status-nul": {"status": "completed\u0000"},
        "status-hebrew": {"status": "\u05e9\u05dc\u05d5\u05dd"},
        "deal-arabic-indic": {"deal": "\u0663\u0664"}, "deal-rtl": {"deal": "\u202e123"},
        "deal-emoji": {"deal": "\U0001f600"}, "deal-too-long": {"deal": "1" * 65},
        "deal-nul": {"deal": "1\u0000"}, "continuation-junk": {"continuation": "not-a-token"},
        "continuation-json": {"continuation": "eyJwIjoiYSJ9"}, "continuation-emoji": {"continuation": "\U0001f600"},
    }
    cases = [Case(name, "GET", "/api/transactions?" + httpx.QueryParams(p).__str__(), status=400)
             for name, p in params.items()]
    cases.append(Case("query-invalid-utf8", "GET", "/api/transactions?limit=%FF%FE", status=400))
    cases.append(Case("query-escaped-surrogate", "GET", "/api/transactions?deal=%ED%A0%80", status=400))
    return cases


def transaction_cases() -> list[Case]:
    bad_ids = {"no-prefix": "123", "nul": "deal-1%00", "arabic-indic": "deal-%D9%A3", "emoji": "deal-%F0%9F%98%80",
               "rtl": "deal-%E2%80%AE1", "too-long": "deal-" + "1" * 65, "invalid-utf8": "deal-%FF",
               "escaped-surrogate": "deal-%ED%A0%80", "space": "deal-1%20"}
    cases = [Case(f"get-{name}", "GET", f"/api/transactions/{tx}", status=400) for name, tx in bad_ids.items()]
    cases += [Case(f"retry-{name}", "POST", f"/api/transactions/{tx}/retry", b"{", status=400)
              for name, tx in bad_ids.items()]
    cases += [
        Case("get-unknown", "GET", "/api/transactions/deal-987654321", status=404),
        Case("retry-unknown", "POST", "/api/transactions/deal-987654321/retry", status=404),
        Case("compensate-unknown", "POST", "/api/transactions/deal-987654321/compensate", dumps({"x": "\ud800"}),
             status=404),
    ]
    for name, action in {"unknown": "explode", "emoji": "%F0%9F%98%80", "nul": "retry%00", "upper": "RETRY",
                         "rtl": "%E2%80%AEretry", "invalid-utf8": "%FF"}.items():
        cases.append(Case(f"action-{name}", "POST", f"/api/transactions/deal-987654321/{action}", status=404))
    return cases


def batch_cases() -> list[Case]:
    bad_windows = {"not-a-time": "from=yesterday", "reversed": "from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z",
                   "too-wide": "from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "limit-zero": "limit=0",
                   "limit-superscript": "limit=%C2%B2", "limit-huge": "limit=" + "9" * 40,
                   "year-1": "from=0001-01-01"}
    cases = [Case(f"list-{name}", "GET", f"/api/batches?{query}", status=400) for name, query in bad_windows.items()]
    bad_ids = {"nul": "b%00", "emoji": "%F0%9F%98%80", "rtl": "%E2%80%AEb", "too-long": "b" * 201,
               "invalid-utf8": "%FF"}
    cases += [Case(f"get-{name}", "GET", f"/api/batches/{b}", status=400) for name, b in bad_ids.items()]
    # The host routes neither an escaped slash nor a line break to the function: its plain 404, never a 5xx.
    cases += [Case(f"get-{name}", "GET", f"/api/batches/{b}", expect="any") for name, b in
              {"newline": "b%0A", "slash": "a%2Fb"}.items()]
    cases.append(Case("get-unknown", "GET", "/api/batches/flush-nobody-invoice-e1-b0", status=404))
    return cases


def read_only_cases() -> list[Case]:
    """Endpoints that take no input: whatever comes along is ignored; they must not fail or start anything."""
    junk = "?" + httpx.QueryParams({"x": "\u0000\ud7ff\U0001f600\u202e", "limit": "\u00b2"}).__str__()
    return [Case(f"{path.rsplit('/', 1)[1]}-{name}", "GET", path + query, body, {"Content-Type": "application/json"},
                 expect="any")
            for path in ("/api/health", "/api/status")
            for name, query, body in (("junk-query", junk, None), ("junk-body", "", MALFORMED["invalid-utf8"]),
                                      ("invalid-utf8-query", "?x=%FF", None))]


ENDPOINTS = {
    "hubspot-webhook": hubspot_cases, "xero-webhook": xero_cases, "sync": lambda _: sync_cases(),
    "transactions-list": lambda _: transactions_cases(), "transaction-and-actions": lambda _: transaction_cases(),
    "health-and-status": lambda _: read_only_cases(), "batches": lambda _: batch_cases(),
}


def snapshot(stack: Stack) -> dict[str, Any]:
    """What would change if anything had been started or called: devhost's work and both simulators."""
    stats = stack.client.stats()
    return {
        "instances": stack.client.health()["instances"],
        "work": {k: stats[k] for k in ("orchestrator_episodes", "activity_executions_total", "entity_operations",
                                       "history_events_appended")},
        "hubspot_requests": len(stack.sims.hubspot.requests()), "xero_requests": len(stack.sims.xero.requests()),
        "hubspot": stack.sims.hubspot.state()["objects"],
        "xero": {k: stack.sims.xero.state()[k] for k in ("contacts", "invoices")},
    }


def judge(case: Case, response: httpx.Response) -> str | None:
    """Why the answer breaks the rules for this case (None if it keeps them)."""
    status, text = response.status_code, response.text[:200]
    if status >= 500:
        return f"{status} {text!r}"
    if case.status is not None and status != case.status:
        return f"expected {case.status}, got {status} {text!r}"
    if case.expect == "bare401":
        return None if (status, response.content) == (401, b"") else f"expected a bare 401, got {status} {text!r}"
    if case.expect == "ignored":
        return None if status == 200 else f"expected 200 (acknowledged, ignored), got {status} {text!r}"
    if case.expect == "refused":
        if not 400 <= status < 500:
            return f"expected a 4xx refusal, got {status} {text!r}"
        if not response.headers.get("content-type", "").startswith("application/json"):
            return f"{status} is not JSON: {response.headers.get('content-type')} {text!r}"
        body = response.json()
        if not isinstance(body, dict) or set(body) != {"error", "message"} or not all(
                isinstance(v, str) and v for v in body.values()):
            return f"{status} body is not {{error, message}}: {text!r}"
    return None


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_bad_input_is_refused_with_a_4xx_json_error_and_starts_nothing(stack: Stack, endpoint: str) -> None:
    started = time.monotonic()
    cases = ENDPOINTS[endpoint](stack)
    before = snapshot(stack)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    with httpx.Client(base_url=stack.client.base_url, timeout=30) as http:
        for case in cases:
            request = http.build_request(case.method, case.path, content=case.body, headers=case.headers)
            response = http.send(request)
            statuses[response.status_code] += 1
            problem = judge(case, response)
            if problem:
                failures.append(f"{case.name}: {problem}")
    # Anything a request started would show here (also what a webhook hands to an orchestration).
    wait_for("devhost to be idle", lambda: stack.client.health()["idle"], timeout=30)
    time.sleep(0.3)
    after = snapshot(stack)
    calls = sum(after[k] - before[k] for k in ("hubspot_requests", "xero_requests"))
    report(f"reliability bad input {endpoint}: cases={len(cases)} statuses={dict(sorted(statuses.items()))} "
           f"violations={len(failures)} instances_started={after['instances'] - before['instances']} "
           f"simulator_calls={calls} seconds={time.monotonic() - started:.1f}")
    assert not failures, "\n".join(failures)
    assert after == before
