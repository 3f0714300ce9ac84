"""The durable HTTP management API and the unmodified SDK DurableOrchestrationClient against it."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from devhost.testing import DURABLE, DevHostClient


def _post(client: DevHostClient, action: str, args: dict) -> tuple[int, object]:
    status, _, payload = client.request("POST", f"/api/client/{action}", json.dumps(args))
    return status, payload


def test_terminate_sets_status_and_reason_and_later_calls_are_gone(client: DevHostClient) -> None:
    iid = client.start("waits_forever")
    client.wait(iid, statuses=("Running",))
    assert client.terminate(iid, "stop now") == 202
    status = client.wait(iid)
    assert status["runtimeStatus"] == "Terminated" and status["output"] == "stop now"
    assert client.terminate(iid) == 410
    assert client.raise_event(iid, "Go", 1) == 410


def test_suspend_holds_events_until_resume(client: DevHostClient) -> None:
    iid = client.start("waits_forever")
    client.wait(iid, statuses=("Running",))
    assert client.suspend(iid, "pause") == 202
    assert client.status(iid)["runtimeStatus"] == "Suspended"
    client.raise_event(iid, "Go", "x")
    time.sleep(0.1)
    assert client.status(iid)["runtimeStatus"] == "Suspended"
    assert client.resume(iid, "go on") == 202
    assert client.wait(iid)["output"] == '"x"'


def test_purge_deletes_history_and_unknown_ids_give_404(client: DevHostClient) -> None:
    iid = client.start("sequence")
    client.wait(iid)
    assert client.purge(iid) == 200
    assert client.status(iid) is None
    assert client.purge(iid) == 404
    assert client.raise_event(iid, "x") == 404


def test_duplicate_start_is_refused_while_running_and_replaces_finished(client: DevHostClient) -> None:
    iid = "dup-" + uuid.uuid4().hex[:8]
    client.start("waits_forever", instance_id=iid)
    status, _, body = client.request("POST", f"{DURABLE}/orchestrators/sequence/{iid}")
    assert status == 500 and "already exists" in body["ExceptionMessage"]
    client.raise_event(iid, "Go", 1)
    client.wait(iid)
    assert client.start("sequence", instance_id=iid) == iid
    status2 = client.wait(iid)
    assert status2["name"] == "sequence" and status2["runtimeStatus"] == "Completed"


def test_start_unknown_orchestrator_gives_400_with_message(client: DevHostClient) -> None:
    status, _, body = client.request("POST", f"{DURABLE}/orchestrators/nope")
    assert status == 400
    assert body["ExceptionMessage"].startswith("The function 'nope' doesn't exist")


def test_status_codes_202_while_running_and_200_when_done(client: DevHostClient) -> None:
    iid = client.start("waits_forever")
    client.wait(iid, statuses=("Running",))
    status, headers, _ = client.request("GET", f"{DURABLE}/instances/{iid}")
    assert status == 202 and "Location" in headers
    client.raise_event(iid, "Go", 1)
    client.wait(iid)
    assert client.request("GET", f"{DURABLE}/instances/{iid}")[0] == 200
    assert client.request("GET", f"{DURABLE}/instances/unknown-id")[:1] == (404,)


def test_list_by_created_time_window_with_paging(client: DevHostClient) -> None:
    prefix = "page-" + uuid.uuid4().hex[:6]
    t0 = datetime.now(UTC) - timedelta(seconds=1)
    ids = [client.start("sequence", instance_id=f"{prefix}-{i}") for i in range(5)]
    for iid in ids:
        client.wait(iid)
    frm = t0.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    to = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        status, hdrs, page = client.request(
            "GET",
            f"{DURABLE}/instances?createdTimeFrom={frm}&createdTimeTo={to}&instanceIdPrefix={prefix}"
            f"&runtimeStatus=Completed&top=2",
            headers=headers,
        )
        assert status == 200
        seen += [p["instanceId"] for p in page]
        pages += 1
        token = hdrs.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == sorted(ids) and pages == 3
    past = (t0 - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    status, _, page = client.request(
        "GET", f"{DURABLE}/instances?createdTimeFrom={past}&createdTimeTo={frm}&instanceIdPrefix={prefix}"
    )
    assert page == []


def test_purge_by_time_window_deletes_only_finished_instances(client: DevHostClient) -> None:
    prefix = "purge-" + uuid.uuid4().hex[:6]
    t0 = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    done = client.start("sequence", instance_id=f"{prefix}-done")
    running = client.start("waits_forever", instance_id=f"{prefix}-running")
    client.wait(done)
    client.wait(running, statuses=("Running",))
    status, _, body = client.request("DELETE", f"{DURABLE}/instances?createdTimeFrom={t0}&runtimeStatus=Completed")
    assert status == 200 and body["instancesDeleted"] >= 1
    assert client.status(done) is None and client.status(running) is not None
    assert client.request("DELETE", f"{DURABLE}/instances")[0] == 400
    client.terminate(running)


def test_sdk_client_start_status_raise_and_list_work_over_http(client: DevHostClient) -> None:
    iid = "sdk-" + uuid.uuid4().hex[:8]
    assert _post(client, "start", {"name": "waits_forever", "instance_id": iid}) == (200, iid)
    client.wait(iid, statuses=("Running",))
    status, by = _post(client, "by", {"prefix": "sdk-", "statuses": ["Running"]})
    assert status == 200 and iid in by
    assert _post(client, "raise", {"instance_id": iid, "event": "Go", "data": {"v": 1}}) == (200, "raised")
    client.wait(iid)
    status, body = _post(client, "status", {"instance_id": iid, "history": True})
    assert body["runtimeStatus"] == "Completed" and body["output"] == '{"v": 1}'
    assert [e["EventType"] for e in body["historyEvents"]][-1] == "ExecutionCompleted"
    assert _post(client, "status", {"instance_id": "missing"}) == (200, None)


def test_sdk_client_entities_terminate_and_purge(client: DevHostClient) -> None:
    key = uuid.uuid4().hex[:8]
    assert _post(client, "signal", {"entity": "Counter", "key": key, "op": "add", "input": 7}) == (200, "signalled")
    deadline = time.monotonic() + 5
    body: object = None
    while time.monotonic() < deadline:
        _, body = _post(client, "read_entity", {"entity": "Counter", "key": key})
        if body == {"exists": True, "state": 7}:
            break
    assert body == {"exists": True, "state": 7}
    assert _post(client, "read_entity", {"entity": "Counter", "key": "nobody"})[1] == {"exists": False, "state": None}
    iid = client.start("waits_forever")
    assert _post(client, "terminate", {"instance_id": iid}) == (200, "terminated")
    assert client.wait(iid)["runtimeStatus"] == "Terminated"
    assert _post(client, "purge", {"instance_id": iid}) == (200, 1)


def test_http_starter_returns_check_status_response(client: DevHostClient) -> None:
    status, headers, body = client.request("POST", "/api/start/sequence", json.dumps(None))
    assert status == 202 and headers["Location"] == body["statusQueryGetUri"]
    assert body["statusQueryGetUri"].startswith(client.base_url + DURABLE + "/instances/")
    assert client.wait(body["id"])["runtimeStatus"] == "Completed"


def test_an_activity_with_a_durable_client_binding_gets_a_working_client(client: DevHostClient) -> None:
    # Azure binds a durableClient to any function, activities included: the activity starts a child itself.
    child = "child-" + uuid.uuid4().hex[:8]
    iid = client.start("starts_child", {"name": "sequence", "instance_id": child})
    status = client.wait(iid)
    assert status["runtimeStatus"] == "Completed", status
    assert status["output"] == {"started": child, "seen": True}
    done = client.wait(child)
    assert done["name"] == "sequence" and done["runtimeStatus"] == "Completed"


def test_a_refused_start_fault_answers_503_once_for_that_orchestrator_and_starts_nothing(client: DevHostClient) -> None:
    iid = "refused-" + uuid.uuid4().hex[:8]
    client.add_fault("sequence", "refuse_start", times=1)
    client.add_fault("*", "refuse_start", times=1, skip=1)  # the second start would meet it; activities never
    status, _, body = client.request("POST", f"{DURABLE}/orchestrators/sequence/{iid}")
    assert status == 503 and "could not be reached" in body["ExceptionMessage"]
    assert client.status(iid) is None
    status, _, _ = client.request("POST", f"{DURABLE}/orchestrators/sequence/{iid}")  # the wildcard's skip
    assert status == 202
    assert client.wait(iid)["runtimeStatus"] == "Completed"  # its activities ran: no start rule applied to them
    assert [f["fired"] for f in client.faults()] == [1, 0]
