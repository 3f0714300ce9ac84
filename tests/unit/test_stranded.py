"""A transaction whose orchestration failed or was terminated is handed to a person, once, and visibly."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import names
from shared.application.stranded import mark_stranded
from shared.domain.transaction import TransactionState, apply, check_manual
from tests.support.fake_client import FakeDurableClient

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
AT = "2026-11-26T00:00:00+00:00"


def _running(tx: str) -> dict[str, Any]:
    state = apply(None, {"op": "start", "id": tx, "deal_id": tx.removeprefix("deal-"), "trigger": "webhook", "at": AT})
    return state.model_dump(mode="json")


class World:
    def __init__(self) -> None:
        self.client = FakeDurableClient()
        self.rows: list[TransactionState] = []
        self.signals: list[tuple[str, str, str, Any]] = []

    def upsert(self, state: TransactionState) -> None:
        self.rows.append(state)

    async def signal(self, entity: str, key: str, operation: str, input_: object) -> None:
        self.signals.append((entity, key, operation, input_))
        current = self.client.entities.get((entity, key))
        self.client.entities[(entity, key)] = apply(TransactionState.model_validate(current), input_).model_dump(
            mode="json")  # type: ignore[arg-type]

    def run(self) -> list[str]:
        return asyncio.run(mark_stranded(self.client, self, self.signal, NOW - timedelta(days=2), NOW))


def test_a_transaction_whose_orchestration_failed_is_handed_to_a_person_and_told_once(
        caplog: pytest.LogCaptureFixture) -> None:
    world = World()
    world.client.finish("deal-1", "Failed", "Orchestrator function 'deal_sync' failed: boom")
    world.client.finish("deal-2", "Terminated", "stopped by an operator")
    world.client.finish("deal-3", "Completed", {"status": "completed"})
    world.client.finish("deal-4", "Failed", "boom")  # its entity already finished: nothing to hand over
    for tx in ("deal-1", "deal-2", "deal-3"):
        world.client.entities[(names.SYNC_TRANSACTION, tx)] = _running(tx)
    world.client.entities[(names.SYNC_TRANSACTION, "deal-4")] = {**_running("deal-4"), "status": "completed"}
    with caplog.at_level(logging.WARNING):
        assert world.run() == ["deal-1", "deal-2"]
        assert world.run() == []  # once moved, no longer "running": not reported again
    lines = [r.getMessage() for r in caplog.records if "sync attention:" in r.getMessage()]
    assert len(lines) == 2 and lines[0].startswith("sync attention: status=needs_attention transaction=deal-1 ")
    assert "code=orchestration_failed" in lines[0] and "boom" in lines[0]
    assert [(r.id, r.status) for r in world.rows] == [("deal-1", "needs_attention"), ("deal-2", "needs_attention")]
    entity = TransactionState.model_validate(world.client.entities[(names.SYNC_TRANSACTION, "deal-1")])
    assert entity.status == "needs_attention" and entity.transitions[-1].by == "host"
    # No decision can reach a stopped orchestration: the API says why instead of accepting one.
    assert "stopped" in (check_manual(entity, "retry") or "")


def test_a_ledger_that_cannot_be_written_leaves_the_transaction_for_the_next_run() -> None:
    world = World()
    world.client.finish("deal-1", "Failed", "boom")
    world.client.entities[(names.SYNC_TRANSACTION, "deal-1")] = _running("deal-1")
    failing = {"left": 1}
    upsert = world.upsert

    def flaky(state: TransactionState) -> None:
        if failing["left"]:
            failing["left"] -= 1
            raise ConnectionError("table storage unreachable")
        upsert(state)

    world.upsert = flaky  # type: ignore[method-assign]
    assert world.run() == [] and world.signals == []  # nothing half done: the entity still says running
    assert world.run() == ["deal-1"] and [r.status for r in world.rows] == ["needs_attention"]


def test_an_orchestration_restarted_since_the_listing_is_left_alone() -> None:
    world = World()
    world.client.finish("deal-1", "Failed", "boom")
    world.client.entities[(names.SYNC_TRANSACTION, "deal-1")] = _running("deal-1")
    listed = world.client.ended_badly

    async def then_rewound(prefix: str, since: datetime) -> Any:
        found = await listed(prefix, since)
        world.client.finish("deal-1", "Running")  # an operator rewound it meanwhile
        return found

    world.client.ended_badly = then_rewound  # type: ignore[method-assign]
    assert world.run() == [] and world.signals == []


def test_a_transaction_waiting_for_a_person_whose_orchestration_stopped_is_offered_a_new_attempt() -> None:
    world = World()
    waiting = apply(TransactionState.model_validate(_running("deal-8")),
                    {"op": "finish", "status": "needs_attention", "at": AT, "failed_step": "write_back",
                     "reason": {"message": "refused"}, "pending_compensations": [{"step": "invoice"}]})
    world.client.entities[(names.SYNC_TRANSACTION, "deal-8")] = waiting.model_dump(mode="json")
    world.client.finish("deal-8", "Failed", "Non-Deterministic workflow detected")  # e.g. after a deploy
    assert world.run() == ["deal-8"]
    assert world.run() == []  # once
    entity = TransactionState.model_validate(world.client.entities[(names.SYNC_TRANSACTION, "deal-8")])
    assert entity.reason["code"] == "orchestration_failed"  # type: ignore[index]
    assert entity.pending_compensations == [{"step": "invoice"}]  # what was left to undo is still shown
