"""Orchestration semantics: sequences, fan-out, retries, failures, timers, events, sub-orchestrations."""

from __future__ import annotations

import time
import uuid

from devhost.testing import DevHostClient


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _events(client: DevHostClient, iid: str) -> list[dict]:
    status = client.status(iid, show_history=True, show_history_output=True)
    assert status is not None
    return list(status["historyEvents"])


def test_sequence_of_activities_returns_results_in_order(client: DevHostClient) -> None:
    iid = client.start("sequence")
    status = client.wait(iid)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]
    scheduled = [e for e in _events(client, iid) if e["EventType"] == "TaskScheduled"]
    assert [e["Name"] for e in scheduled] == ["hello", "hello", "hello"]


def test_fan_out_fan_in_runs_async_activities_and_sums(client: DevHostClient) -> None:
    iid = client.start("fan_out", 10)
    status = client.wait(iid)
    assert status["output"] == sum(2 * i for i in range(10))
    completed = [e for e in _events(client, iid) if e["EventType"] == "TaskCompleted"]
    assert sorted(e["TaskScheduledId"] for e in completed) == list(range(10))


def test_retry_that_succeeds_on_second_attempt_numbers_timer_and_attempt_like_dtfx(client: DevHostClient) -> None:
    iid = client.start("retrying", {"key": _uid("ok"), "fail_times": 1, "max": 3})
    status = client.wait(iid)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == "ok after 2"
    ev = [
        (e["EventType"], e.get("EventId", e.get("TaskScheduledId", e.get("TimerId"))))
        for e in client.status(iid, show_history=True)["historyEvents"]
    ]
    kinds = [k for k, _ in ev]
    assert kinds == [
        "ExecutionStarted",
        "TaskScheduled",
        "TaskFailed",
        "TimerCreated",
        "TimerFired",
        "TaskScheduled",
        "TaskCompleted",
        "ExecutionCompleted",
    ]
    raw = _events(client, iid)
    assert raw[3].get("FireAt") and raw[4]["TimerId"] == 1 and raw[6]["TaskScheduledId"] == 2


def test_retry_exhausted_surfaces_last_error_after_extra_timer(client: DevHostClient) -> None:
    iid = client.start("retrying", {"key": _uid("bad"), "fail_times": 10, "max": 2})
    status = client.wait(iid)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'retrying' failed: Activity function 'flaky' failed:  ValueError: attempt 2 failed \n {"
    )
    kinds = [e["EventType"] for e in _events(client, iid)]
    # Two attempts, each followed by a retry timer: the extra timer after the last attempt (§2.6.3).
    assert kinds.count("TaskFailed") == 2
    assert kinds.count("TimerCreated") == 2 and kinds.count("TimerFired") == 2
    assert kinds.index("TimerFired", kinds.index("TaskFailed", kinds.index("TaskFailed") + 1)) > 0


def test_caught_activity_failure_has_reason_and_json_details(client: DevHostClient) -> None:
    iid = client.start("catching")
    status = client.wait(iid)
    assert status["runtimeStatus"] == "Completed"
    caught = status["output"]["caught"]
    reason, details = caught.split(" \n ", 1)
    assert reason == "Activity function 'boom' failed:  ValueError: bad thing"
    import json

    assert json.loads(details)["Message"] == " ValueError: bad thing"


def test_uncaught_failure_fails_orchestration_and_keeps_custom_status(client: DevHostClient) -> None:
    iid = client.start("uncaught")
    status = client.wait(iid)
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith(
        "Orchestrator function 'uncaught' failed: Activity function 'boom' failed:  ValueError: kaboom"
    )
    assert status["customStatus"] == "about to fail"


def test_unknown_activity_fails_the_orchestration_not_the_task(client: DevHostClient) -> None:
    status = client.wait(client.start("unknown_activity"))
    assert status["runtimeStatus"] == "Failed"
    assert (
        "The function 'does_not_exist' doesn't exist, is disabled, or is not an activity function." in status["output"]
    )


def test_external_event_wins_race_against_timer_when_clock_is_frozen(client: DevHostClient) -> None:
    client.clock(auto_advance=False)
    iid = client.start("approval")
    client.wait(iid, statuses=("Running",))
    assert client.raise_event(iid, "Approval", {"by": "alice"}) == 202
    status = client.wait(iid)
    # raise_event payloads arrive double-encoded, so the orchestrator sees the JSON text (§1, issue #295).
    assert status["output"] == {"approved": '{"by": "alice"}'}
    assert client.clock()["next_timer"] is None  # the cancelled timer no longer holds the clock


def test_timer_wins_race_when_virtual_clock_jumps(client: DevHostClient) -> None:
    before = client.clock()["now"]
    iid = client.start("approval")
    status = client.wait(iid)
    assert status["output"] == "timed out"
    assert client.clock()["now"] > before


def test_long_durable_timer_completes_without_sleeping_and_time_advances(client: DevHostClient) -> None:
    t0 = time.monotonic()
    status = client.wait(client.start("wait_timer"))
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] >= 2 * 24 * 3600  # current_utc_datetime moved past fireAt
    assert time.monotonic() - t0 < 5


def test_sub_orchestration_completes_and_returns_child_output(client: DevHostClient) -> None:
    iid = client.start("parent", "payload")
    status = client.wait(iid)
    assert status["output"] == {"ok": {"child_got": "payload", "parent": iid}}
    created = [e for e in _events(client, iid) if e["EventType"] == "SubOrchestrationInstanceCreated"]
    child_id = created[0]["InstanceId"]
    assert child_id.endswith(":0")  # "<parent ExecutionId>:<seq id>" (§2.6.7)
    assert client.status(child_id)["runtimeStatus"] == "Completed"


def test_failing_sub_orchestration_raises_in_parent_with_orchestrator_failure_text(client: DevHostClient) -> None:
    status = client.wait(client.start("parent", "fail"))
    assert status["runtimeStatus"] == "Completed"
    # The worker reports the exception as "<type>: <message>", and the host passes that text on.
    expected = "Orchestrator function 'child' failed: RuntimeError: child exploded \n {"
    assert status["output"]["error"].startswith(expected)


def test_sub_orchestration_with_retry_runs_each_attempt_as_new_child(client: DevHostClient) -> None:
    iid = client.start("parent_retry")
    status = client.wait(iid)
    assert status["output"]["error"].startswith("Orchestrator function 'child' failed: RuntimeError: child exploded")
    children = [e["InstanceId"] for e in _events(client, iid) if e["EventType"] == "SubOrchestrationInstanceCreated"]
    assert len(children) == 2 and len(set(children)) == 2


def test_continue_as_new_restarts_with_fresh_history(client: DevHostClient) -> None:
    iid = client.start("counter_loop", 0)
    status = client.wait(iid)
    assert status["output"] == {"final": 3, "history_starts_fresh": True}
    kinds = [e["EventType"] for e in _events(client, iid)]
    assert kinds == ["ExecutionStarted", "ExecutionCompleted"]


def test_custom_status_is_visible_while_running(client: DevHostClient) -> None:
    iid = client.start("waits_forever")
    status = client.wait(iid, statuses=("Running",))
    deadline = time.monotonic() + 5
    while status["customStatus"] is None and time.monotonic() < deadline:
        status = client.status(iid)
    assert status["customStatus"] == {"stage": "waiting"}
    client.raise_event(iid, "Go", 1)
    assert client.wait(iid)["output"] == "1"


def test_status_input_is_the_string_the_sdk_sent(client: DevHostClient) -> None:
    iid = client.start("fan_out", 2)
    client.wait(iid)
    assert client.status(iid)["input"] == "2"  # ParseToJToken of a JSON string token (§1, last row)
    assert client.status(iid, show_input=False)["input"] is None
