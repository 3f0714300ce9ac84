"""Fault injection, non-determinism detection and stats."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from devhost.testing import DevHostClient


def _effects(path: Path, key: str) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if key in line]


def test_crash_after_reruns_activity_and_records_second_result(client: DevHostClient, side_effect_file: Path) -> None:
    key = uuid.uuid4().hex[:8]
    client.add_fault("record", "crash_after", times=1)
    status = client.wait(client.start("idempotent_pair", key))
    assert status["output"] == [f"{key}-1", f"{key}-2"]
    lines = _effects(side_effect_file, key)
    assert lines.count(f'{{"id": "{key}-1"}}') == 2 and lines.count(f'{{"id": "{key}-2"}}') == 1
    assert client.faults()[0]["fired"] == 1 and client.faults()[0]["times"] == 0


def test_duplicate_delivery_runs_activity_twice_and_first_result_wins(
    client: DevHostClient, side_effect_file: Path
) -> None:
    key = uuid.uuid4().hex[:8]
    before = client.stats()["activity_results_discarded"]
    client.add_fault("record", "duplicate", times=-1)
    status = client.wait(client.start("idempotent_pair", key))
    assert status["output"] == [f"{key}-1", f"{key}-2"]
    assert len(_effects(side_effect_file, key)) == 4
    assert client.stats()["activity_results_discarded"] >= before + 2


def test_delay_fault_delays_the_activity(client: DevHostClient) -> None:
    import time

    client.add_fault("hello", "delay", times=1, delay_ms=300)
    t0 = time.monotonic()
    client.wait(client.start("sequence"))
    assert time.monotonic() - t0 >= 0.3


def test_invalid_fault_is_rejected(client: DevHostClient) -> None:
    status, _, body = client.request("POST", "/_devhost/faults", '{"activity": "x", "mode": "explode"}')
    assert status == 400 and "mode" in body["error"]


def test_replay_that_schedules_a_different_activity_fails_with_dtfx_message(client: DevHostClient) -> None:
    iid = client.start("versioned")
    client.wait(iid, statuses=("Running",))
    deadline = __import__("time").monotonic() + 5
    while "TaskCompleted" not in [e["EventType"] for e in client.status(iid, show_history=True)["historyEvents"]]:
        assert __import__("time").monotonic() < deadline
        __import__("time").sleep(0.01)
    os.environ["CONFORMANCE_STEP_ACTIVITY"] = "double"  # "deploy" changed orchestrator code
    try:
        client.raise_event(iid, "Continue")
        status = client.wait(iid)
    finally:
        del os.environ["CONFORMANCE_STEP_ACTIVITY"]
    assert status["runtimeStatus"] == "Failed"
    assert status["output"] == (
        "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity "
        "task with sequence number 0 named 'hello', but the current orchestration replay instead scheduled an "
        "activity task named 'double' with this sequence number.  Was a change made to the orchestrator code "
        "after this instance had already started running?"
    )


def test_stats_count_activities_episodes_history_and_statuses(client: DevHostClient) -> None:
    before = client.stats()
    client.wait(client.start("sequence"))
    after = client.stats()
    assert after["activity_executions"]["hello"] == before["activity_executions"].get("hello", 0) + 3
    assert after["orchestrator_episodes"] == before["orchestrator_episodes"] + 4
    assert after["history_events_appended"] > before["history_events_appended"]
    assert after["instances_by_status"]["Completed"] == before["instances_by_status"].get("Completed", 0) + 1
    assert client.health()["status"] == "ok"
