"""devhost as a subprocess: CLI ready line, settings, signals, SIGKILL + restart with --state, HTTP triggers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from devhost.testing import DevHostClient, DevHostProcess

APP_DIR = Path(__file__).resolve().parent / "apps" / "conformance"


def _history_kinds(client: DevHostClient, iid: str) -> list[str]:
    status = client.status(iid, show_history=True)
    assert status is not None
    return [e["EventType"] for e in status["historyEvents"]]


def test_sigkill_restart_with_state_file_resumes_orchestrations_entities_and_timers(
    devhost_process_factory: Callable[..., DevHostProcess], tmp_path: Path
) -> None:
    state = tmp_path / "state.db"
    proc = devhost_process_factory(APP_DIR, state_file=state, clock="virtual")
    c = proc.client
    slow = c.start("slow_pair", 1.5)
    waiting = c.start("waits_forever")
    timer = c.start("wait_timer")  # pending: the engine is busy with the slow activity, so no clock jump
    c.signal_entity("Counter", "persisted", "add", 41)
    deadline = time.monotonic() + 10
    while "TaskScheduled" not in _history_kinds(c, slow) or c.read_entity("Counter", "persisted") != (True, 41):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert c.status(timer)["runtimeStatus"] == "Running"
    proc.kill()

    proc.start()  # same port, same state file
    c = proc.client
    assert c.read_entity("Counter", "persisted") == (True, 41)
    status = c.wait(slow, timeout=15)
    assert status["runtimeStatus"] == "Completed" and status["output"] == [1.5, "Hello after slow!"]
    assert c.stats()["activity_executions"]["slow"] == 1  # the in-flight activity ran again (at-least-once)
    assert c.wait(timer, timeout=15)["runtimeStatus"] == "Completed"
    assert c.raise_event(waiting, "Go", "after restart") == 202
    assert c.wait(waiting)["output"] == '"after restart"'


def test_cli_prints_ready_line_applies_settings_and_stops_cleanly_on_sigterm(
    devhost_process_factory: Callable[..., DevHostProcess], tmp_path: Path
) -> None:
    effects = tmp_path / "effects.log"
    proc = devhost_process_factory(APP_DIR, settings_env={"CONFORMANCE_SIDE_EFFECT_FILE": str(effects)})
    assert proc.base_url.startswith("http://127.0.0.1:")
    # run_on_startup timer (schedule from %CONFORMANCE_SCHEDULE% in local.settings.json) ran once.
    deadline = time.monotonic() + 5
    while not effects.exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert json.loads(effects.read_text().splitlines()[0]) == {"tick": True, "past_due": False}
    assert proc.stop() == 0
    assert "Traceback" not in proc.stderr_text()


def test_http_triggers_route_params_methods_sync_async_and_errors(
    devhost_process_factory: Callable[..., DevHostProcess],
) -> None:
    c = devhost_process_factory(APP_DIR).client
    status, _, body = c.request("GET", "/api/sync/bob?x=1", headers={"x-test": "yes"})
    assert status == 200 and body == {"hello": "bob", "method": "GET", "header": "yes"}
    assert c.request("GET", "/api/sync?name=q")[2]["hello"] == "q"  # optional {name?}
    status, headers, body = c.request("POST", "/api/echo", b"raw-bytes", headers={"Content-Type": "text/plain"})
    assert status == 201 and body == "raw-bytes" and headers["x-echo"] == "1"
    assert c.request("GET", "/api/echo")[0] == 404  # method not allowed for this route
    assert c.request("GET", "/api/explode")[0] == 500
    assert c.request("GET", "/api/nothing/here")[0] == 404
    # Header bytes that are not UTF-8 are refused by the host, as Kestrel does, before any function runs.
    assert c.request("GET", "/api/sync/bob", headers={"x-test": "\xff\xfe"})[0] == 400
