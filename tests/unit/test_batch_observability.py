"""What the batched steps show: a row per batch (API), the step's link to it, and "queued for batch"."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import names
from shared.api import batches, transactions
from shared.config import Settings, get_settings
from shared.sync import batch_queue, batching
from shared.sync.batched_attempt import batched
from tests.support.fake_client import FakeDurableClient, Info
from tests.support.fake_ports import FakeAccounting
from tests.unit.test_batched_steps import T0, _invoice_item, _item, _queue_context

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


class Rows:
    def __init__(self, items: list[dict[str, Any]] | None = None, down: bool = False) -> None:
        self.items, self.down = items or [], down
        self.asked: list[tuple[datetime, datetime, int]] = []

    def get(self, batch_id: str) -> dict[str, Any] | None:
        if self.down:
            raise ConnectionError("storage unreachable")
        return next((i for i in self.items if i["id"] == batch_id), None)

    def window(self, start: datetime, end: datetime, limit: int = 500) -> tuple[list[dict[str, Any]], bool]:
        if self.down:
            raise ConnectionError("storage unreachable")
        self.asked.append((start, end, limit))
        return self.items[:limit], len(self.items) > limit


def _answer(response: Any) -> tuple[int, Any]:
    return response.status, json.loads(response.body)


def test_the_batch_list_reads_the_window_with_the_transactions_rules_and_sums_its_figures() -> None:
    rows = Rows([{"id": "b1", "size": 3, "calls": 1, "ok": 2, "rejected": 1, "errors": 0},
                 {"id": "b0", "size": 2, "calls": 2, "ok": 0, "rejected": 0, "errors": 2}])
    status, body = _answer(batches.list_batches({"from": "2026-11-26T00:00:00Z"}, rows, NOW))  # type: ignore[arg-type]
    assert status == 200 and [i["id"] for i in body["items"]] == ["b1", "b0"] and body["truncated"] is False
    assert body["totals"] == {"size": 5, "calls": 3, "ok": 2, "rejected": 1, "errors": 2}
    assert rows.asked == [(datetime(2026, 11, 26, tzinfo=UTC), NOW, 100)]
    assert _answer(batches.list_batches({"limit": "1"}, rows, NOW))[1]["truncated"] is True  # type: ignore[arg-type]


@pytest.mark.parametrize("params", [{"from": "yesterday"}, {"from": "2026-11-27T00:00:00Z"},
                                    {"from": "2026-01-01T00:00:00Z"}, {"limit": "0"}, {"limit": "\u00b2"},
                                    {"limit": "501"}])
def test_a_bad_window_or_limit_is_a_400_naming_the_parameter(params: dict[str, str]) -> None:
    status, body = _answer(batches.list_batches(params, Rows(), NOW))  # type: ignore[arg-type]
    assert status == 400 and set(body) == {"error", "message"} and body["message"].startswith(next(iter(params)))


def test_one_batch_by_id_404_when_unknown_400_when_not_an_id_503_when_storage_is_down() -> None:
    rows = Rows([{"id": "flush-t1-invoice-e2-b0", "size": 1}])
    assert _answer(batches.get_batch("flush-t1-invoice-e2-b0", rows))[0] == 200  # type: ignore[arg-type]
    assert _answer(batches.get_batch("flush-t1-invoice-e2-b9", rows))[0] == 404  # type: ignore[arg-type]
    for bad in ("b\n", "", "a/b", "x" * 201, "\u0663"):
        assert _answer(batches.get_batch(bad, rows))[0] == 400  # type: ignore[arg-type]
    assert _answer(batches.get_batch("b1", Rows(down=True)))[0] == 503  # type: ignore[arg-type]
    assert _answer(batches.list_batches({}, Rows(down=True), NOW))[0] == 503  # type: ignore[arg-type]


@pytest.fixture
def settings(app_settings: dict[str, str]) -> Settings:
    return get_settings()


def _transaction(status: str) -> dict[str, Any]:
    at = T0.isoformat()
    return {"id": "deal-5", "deal_id": "5", "status": status, "created_at": at, "updated_at": at,
            "steps": [{"name": "invoice", "status": "succeeded", "attempts": 1, "started_at": at, "ended_at": at,
                       "batch": {"batch_id": "flush-t1-invoice-e2-b0", "size": 3, "element_id": "inv-1"}}]}


def test_a_step_made_in_a_batch_links_to_its_batch_and_a_waiting_deal_says_queued_for_batch(
        settings: Settings) -> None:
    client = FakeDurableClient(entities={(names.SYNC_TRANSACTION, "deal-5"): _transaction("running")})
    queued = {"step": "invoice", "since": T0.isoformat(), "attempt": 1}
    client.instances["deal-5"] = Info("Running", custom_status={"status": "running", "failed_step": None,
                                                                "queued": queued})
    status, body = _answer(asyncio.run(transactions.get_transaction("deal-5", client, settings)))
    assert status == 200
    assert body["steps"][0]["batch"]["href"] == "/api/batches/flush-t1-invoice-e2-b0"
    assert body["queued"] == queued
    client.entities[(names.SYNC_TRANSACTION, "deal-5")] = _transaction("completed")
    assert _answer(asyncio.run(transactions.get_transaction("deal-5", client, settings)))[1]["queued"] is None


def test_a_queued_deal_s_custom_status_says_queued_for_batch_while_it_waits_and_not_after() -> None:
    acct = FakeAccounting()
    delivered = {"ok": True, "result": {"from": "the batch"}}
    ctx, held = _queue_context(acct, [("step:invoice:r0:a1", None, json.dumps(delivered))])
    held["state"], _ = batch_queue.apply_queue(None, "enqueue", {"item": _item("deal-9:invoice:r0"), "now":
                                                                 T0.isoformat(), "lease_seconds": 60})
    ctx.custom_status = {"status": "running", "failed_step": None, "queued": None}  # what the tracker set
    seen: list[Any] = []
    original = ctx.set_custom_status

    def set_status(status: Any) -> None:
        seen.append(status)
        original(status)

    ctx.set_custom_status = set_status  # type: ignore[method-assign]
    reply = ctx.run(batched("invoice", "org", 60)(ctx, "create_invoice", _invoice_item(1, acct).payload, True, 1))
    assert reply == delivered
    assert seen[0] == {"status": "running", "failed_step": None,
                       "queued": {"step": "invoice", "since": ctx.current_utc_datetime.isoformat(), "attempt": 1}}
    assert ctx.custom_status == {"status": "running", "failed_step": None, "queued": None}


def test_the_flusher_s_row_names_the_organisation_and_its_start_and_end_from_the_history() -> None:
    from orchestrators.batch_flusher import batch_flusher
    from tests.support.fake_durable import FakeDurableContext

    held: dict[str, Any] = {"state": None}
    held["state"], _ = batch_queue.apply_queue(None, "enqueue", {"item": _item("deal-1:invoice:r0"),
                                                                 "now": T0.isoformat(), "lease_seconds": 60})

    def entity(operation: str, request: Any) -> Any:
        held["state"], result = batch_queue.apply_queue(held["state"], operation, request)
        return result

    delivered: list[Any] = []
    ctx = FakeDurableContext(activities={batching.RUN_BATCH: lambda r: {"results": {}, "calls": 1, "seconds": 0.2},
                                         batching.DELIVER_BATCH: delivered.append},
                             entities={(batching.QUEUE_ENTITY, "org:invoice"): entity},
                             input={"org": "org", "kind": "invoice", "epoch": 1}, instance_id="flush-org-invoice-e1")
    ctx.run(batch_flusher(ctx))
    row = delivered[0]["row"]
    assert (row["org"], row["calls"], row["call_seconds"]) == ("org", 1, 0.2)
    started, ended = datetime.fromisoformat(row["started"]), datetime.fromisoformat(row["ended"])
    assert ended - started == timedelta(seconds=row["seconds"])
