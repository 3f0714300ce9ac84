"""The Functions host's admin invoke, POST /admin/functions/{name}: timer functions on demand, errors as JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostClient, InProcessDevHost


def _manual_ticks(side_effect_file: Path) -> list[dict[str, Any]]:
    if not side_effect_file.exists():
        return []
    lines = [json.loads(line) for line in side_effect_file.read_text().splitlines() if line]
    return [entry for entry in lines if entry.get("manual_tick")]


def _wait_for_ticks(side_effect_file: Path, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(ticks := _manual_ticks(side_effect_file)) < count:
        assert time.monotonic() < deadline, f"expected {count} manual_timer runs, saw {len(ticks)}"
        time.sleep(0.02)
    return ticks


def _invocations(host: InProcessDevHost, name: str) -> int:
    runner = host.host.timers
    assert runner is not None
    return runner.invocations.get(name, 0)


def test_invoking_a_timer_function_runs_it_once_with_a_durable_client(
    client: DevHostClient, host: InProcessDevHost, side_effect_file: Path
) -> None:
    before = len(_manual_ticks(side_effect_file))
    counted = _invocations(host, "manual_timer")
    assert client.invoke_function("manual_timer", "ignored by timer triggers") == 202
    # Counted as started before the 202 went out, like a scheduled run.
    assert _invocations(host, "manual_timer") == counted + 1
    tick = _wait_for_ticks(side_effect_file, before + 1)[-1]
    assert tick["past_due"] is False
    # The durable client binding was filled in: the timer function started an orchestration through it.
    status = client.wait(tick["started"])
    assert status["runtimeStatus"] == "Completed" and status["name"] == "sequence"
    time.sleep(0.2)
    assert len(_manual_ticks(side_effect_file)) == before + 1  # exactly once
    assert _invocations(host, "manual_timer") == counted + 1


def test_body_is_optional_names_are_case_insensitive_and_the_answer_is_an_empty_202(
    client: DevHostClient, host: InProcessDevHost, side_effect_file: Path
) -> None:
    before = len(_manual_ticks(side_effect_file))
    status, _, body = client.request("POST", "/admin/functions/MANUAL_TIMER")
    assert (status, body) == (202, None)
    status, _, body = client.request("POST", "/admin/functions/manual_timer", json.dumps({"input": ""}))
    assert (status, body) == (202, None)
    ticks = _wait_for_ticks(side_effect_file, before + 2)
    for tick in ticks[before:]:
        assert client.wait(tick["started"])["runtimeStatus"] == "Completed"


def test_unknown_function_gives_404_json(client: DevHostClient) -> None:
    status, headers, body = client.request("POST", "/admin/functions/no_such_function", json.dumps({"input": ""}))
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    assert "no_such_function" in body["error"]
    assert client.invoke_function("no_such_function") == 404


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("sync_http", "HTTP-triggered"),
        ("sequence", "orchestrationTrigger"),
        ("hello", "activityTrigger"),
        ("counter", "entityTrigger"),
    ],
)
def test_functions_that_are_not_timer_triggered_give_400_json(
    client: DevHostClient, host: InProcessDevHost, name: str, hint: str
) -> None:
    runs = dict(host.host.timers.invocations) if host.host.timers else {}
    status, headers, body = client.request("POST", f"/admin/functions/{name}", json.dumps({"input": "x"}))
    assert status == 400 and headers["Content-Type"].startswith("application/json")
    assert hint in body["error"] and name in body["error"]
    assert host.host.timers is not None and host.host.timers.invocations == runs


@pytest.mark.parametrize("raw", ["{not json", '["input"]', '{"input": 5}', b"\xff\xfe"])
def test_malformed_body_gives_400_json_and_runs_nothing(
    client: DevHostClient, host: InProcessDevHost, raw: str | bytes
) -> None:
    counted = _invocations(host, "manual_timer")
    status, headers, body = client.request("POST", "/admin/functions/manual_timer", raw)
    assert status == 400 and headers["Content-Type"].startswith("application/json") and body["error"]
    assert _invocations(host, "manual_timer") == counted
