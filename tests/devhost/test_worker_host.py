"""devhost drives the app through the real Functions worker library and does the host's side as Azure does."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devhost.cron import parse_schedule
from devhost.http_triggers import host_joined
from devhost.testing import DevHostClient
from devhost.timer_triggers import timer_payload
from devhost.worker import Worker, WorkerError


def _probe_lines(side_effect_file: Path) -> list[dict[str, Any]]:
    if not side_effect_file.exists():
        return []
    lines = [json.loads(line) for line in side_effect_file.read_text().splitlines() if line]
    return [line for line in lines if line.get("probe")]


def test_repeated_query_values_reach_the_function_joined_with_commas(client: DevHostClient) -> None:
    status, _, body = client.request("GET", "/api/query-echo?q=1&q=2&single=x")
    assert status == 200
    assert body["params"] == {"q": "1,2", "single": "x"}


def test_empty_query_values_are_dropped_like_the_host_does(client: DevHostClient) -> None:
    status, _, body = client.request("GET", "/api/query-echo?empty=&kept=1&flag")
    assert status == 200
    assert body["params"] == {"kept": "1"}


def test_repeated_names_are_joined_and_empty_values_left_out() -> None:
    assert host_joined([("X-Multi", "a"), ("x-multi", "b"), ("blank", "")]) == {"X-Multi": "a,b"}


@pytest.mark.parametrize("route", ["returns-dict", "returns-none"])
def test_a_function_returning_no_http_response_fails_with_500_as_in_azure(client: DevHostClient, route: str) -> None:
    status, _, body = client.request("GET", f"/api/{route}")
    assert status == 500
    assert body is None


def test_a_string_return_is_a_200_text_answer(client: DevHostClient) -> None:
    status, headers, body = client.request("GET", "/api/returns-text")
    assert status == 200
    assert body == "plain words"
    assert headers["Content-Type"] == "text/plain; charset=utf-8"


def test_json_answers_carry_the_content_type_the_worker_sets(client: DevHostClient) -> None:
    # HttpResponse(mimetype="application/json") gets exactly "application/json" from the worker (no charset).
    status, headers, _ = client.request("GET", "/api/sync/bob")
    assert status == 200
    assert headers["Content-Type"] == "application/json"


def test_functions_get_an_invocation_context_with_trace_and_retry_context(client: DevHostClient) -> None:
    status, _, body = client.request("GET", "/api/invocation-context")
    assert status == 200
    seen = body
    assert seen["function_name"] == "invocation_context"
    version, trace_id, span_id, flags = seen["trace_parent"].split("-")
    assert (version, len(trace_id), len(span_id), flags) == ("00", 32, 16, "01")
    assert seen["retry_count"] == 0 and seen["max_retry_count"] == 0
    again = client.request("GET", "/api/invocation-context")[2]
    assert again["invocation_id"] != seen["invocation_id"]
    assert again["trace_parent"] != seen["trace_parent"]


def test_timer_functions_get_the_hosts_timer_payload(client: DevHostClient, side_effect_file: Path) -> None:
    before = len(_probe_lines(side_effect_file))
    assert client.invoke_function("monitored_timer") == 202
    deadline = time.monotonic() + 10
    while len(lines := _probe_lines(side_effect_file)) <= before:
        assert time.monotonic() < deadline, "the timer function never ran"
        time.sleep(0.05)
    probe = lines[-1]
    assert probe["past_due"] is False
    assert probe["schedule"] == {"AdjustForDST": True}
    assert set(probe["schedule_status"]) == {"Last", "Next", "LastUpdated"}
    assert probe["schedule_status"]["Next"] > probe["schedule_status"]["Last"]


def test_a_timer_without_schedule_monitor_gets_no_schedule_status() -> None:
    # The app's timers turn the schedule monitor off (use_monitor=False): the host then sends a null status.
    payload = timer_payload(datetime(2026, 1, 1, tzinfo=UTC), parse_schedule("0 */5 * * * *"), False, monitor=False)
    assert payload == {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": None, "IsPastDue": False}


def test_the_worker_refuses_an_activity_annotated_with_a_parameterised_dict(tmp_path: Path) -> None:
    # The bug the real worker found: `payload: dict[str, Any]` is not a class, and the worker's indexing refuses
    # the whole app ("invalid non-type annotation"); devhost now stops at start-up the same way.
    (tmp_path / "function_app.py").write_text(
        "from typing import Any\n"
        "import azure.durable_functions as df\n"
        "app = df.DFApp()\n"
        "@app.activity_trigger(input_name='payload')\n"
        "def load(payload: dict[str, Any]) -> dict[str, Any]:\n"
        "    return payload\n"
    )
    with pytest.raises(WorkerError, match="invalid non-type annotation"):
        asyncio.run(Worker(tmp_path).start())


def test_a_cookie_the_worker_returns_reaches_the_browser_without_empty_attributes() -> None:
    # The worker fills every nullable attribute, an empty Domain included; "Domain=" would make browsers (and
    # httpx) drop the cookie, so the Xero connect flow's state cookie never came back.
    from devhost import rpc
    from devhost.http_triggers import to_aiohttp_response

    p = rpc.protos()
    cookie = p.RpcHttpCookie(name="state", value="abc", domain=p.NullableString(value=""),
                             path=p.NullableString(value="/api/xero"), http_only=p.NullableBool(value=True),
                             same_site=p.RpcHttpCookie.SameSite.Lax, max_age=p.NullableDouble(value=600))
    answer = to_aiohttp_response(p.TypedData(http=p.RpcHttp(status_code="302", cookies=[cookie])))
    assert answer.status == 302
    assert answer.headers.getall("Set-Cookie") == ["state=abc; Path=/api/xero; Max-Age=600; HttpOnly; SameSite=Lax"]
