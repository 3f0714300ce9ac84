"""The ledger repair: rows behind their transaction's entity are rewritten, missing rows added, the rest left alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import names
from shared.application.ledger_repair import repair_ledger
from shared.domain.transaction import TransactionState
from tests.support.fake_client import FakeDurableClient

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class MemoryLedger:
    def __init__(self) -> None:
        self.rows: dict[str, TransactionState] = {}
        self.writes: list[str] = []
        self.refuse: set[str] = set()

    def index(self, start: datetime, end: datetime) -> dict[str, tuple[str, str]]:
        return {tx: (s.status, s.updated_at) for tx, s in self.rows.items()}

    def upsert(self, state: TransactionState) -> None:
        if state.id in self.refuse:
            raise ConnectionError("the table cannot be reached")
        self.writes.append(state.id)
        self.rows[state.id] = state


def state(tx: str, status: str, minute: int) -> TransactionState:
    at = (NOW - timedelta(minutes=60 - minute)).isoformat()
    return TransactionState(id=tx, deal_id=tx.removeprefix("deal-"), status=status,  # type: ignore[arg-type]
                            created_at=(NOW - timedelta(hours=1)).isoformat(), updated_at=at)


def world(entities: dict[str, TransactionState], rows: dict[str, TransactionState]) -> tuple[Any, MemoryLedger]:
    client = FakeDurableClient()
    for tx, s in entities.items():
        client.finish(tx, "Completed", {"status": s.status})
        client.entities[(names.SYNC_TRANSACTION, tx)] = s.model_dump(mode="json")
    ledger = MemoryLedger()
    ledger.rows.update(rows)
    return client, ledger


def repair(client: Any, ledger: MemoryLedger) -> Any:
    return asyncio.run(repair_ledger(client, ledger, NOW - timedelta(days=2), NOW))


def test_a_row_left_running_by_an_outage_is_rewritten_as_its_transaction_ended() -> None:
    client, ledger = world({"deal-1": state("deal-1", "completed", 30)}, {"deal-1": state("deal-1", "running", 10)})
    report = repair(client, ledger)
    assert report.rewritten == ["deal-1"] and ledger.rows["deal-1"].status == "completed"


def test_a_transaction_whose_every_ledger_write_failed_gets_its_row() -> None:
    client, ledger = world({"deal-2": state("deal-2", "compensated", 40)}, {})
    report = repair(client, ledger)
    assert report.added == ["deal-2"] and ledger.rows["deal-2"].status == "compensated"


def test_rows_that_agree_or_ended_are_not_read_again_or_written() -> None:
    done = state("deal-3", "completed", 30)
    client, ledger = world({"deal-3": done, "deal-4": state("deal-4", "running", 20)},
                           {"deal-3": done, "deal-4": state("deal-4", "running", 20)})
    report = repair(client, ledger)
    assert ledger.writes == [] and report.checked == 1  # only the row that may still move was looked at


def test_a_running_row_behind_its_entity_is_brought_up_to_date() -> None:
    client, ledger = world({"deal-5": state("deal-5", "needs_attention", 50)},
                           {"deal-5": state("deal-5", "needs_attention", 20)})
    assert repair(client, ledger).rewritten == ["deal-5"]
    assert ledger.rows["deal-5"].updated_at == state("deal-5", "needs_attention", 50).updated_at


def test_a_row_that_cannot_be_written_is_left_for_the_next_run_and_the_others_are_repaired() -> None:
    client, ledger = world({"deal-6": state("deal-6", "completed", 30), "deal-7": state("deal-7", "completed", 30)}, {})
    ledger.refuse = {"deal-6"}
    report = repair(client, ledger)
    assert report.failed == ["deal-6"] and report.added == ["deal-7"]
    ledger.refuse = set()
    assert repair(client, ledger).added == ["deal-6"]


def test_a_scheduled_run_whose_batch_cannot_start_still_repairs_the_ledger() -> None:
    from shared.application.scheduled import scheduled_run
    from shared.config import Settings
    from tests.support.settings import sample_settings

    client, ledger = world({"deal-8": state("deal-8", "completed", 30)}, {})
    client.refuse = {"batch-sync": 1}  # the task hub refuses the batch's start

    async def signal(entity: str, key: str, operation: str, input_: object) -> None:
        return None

    settings = Settings(**sample_settings())  # type: ignore[arg-type]
    asyncio.run(scheduled_run(client, ledger, signal, settings, NOW))
    assert client.started_ids() == [] and ledger.rows["deal-8"].status == "completed"
