"""The ledger on a real Azurite: time windows newest first, paging, counts per status, lookup by deal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from shared.domain.transaction import TransactionState
from shared.ledger.table_ledger import InvalidContinuation, TableLedger
from tests.support.azurite import Azurite

T0 = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)


@pytest.fixture
def ledger(azurite: Azurite) -> TableLedger:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    return TableLedger(service, "Ledger" + uuid.uuid4().hex[:12])


def tx(n: int, minutes: int, status: str = "completed", deal: str | None = None) -> TransactionState:
    return TransactionState(id=f"deal-{n}", deal_id=deal or str(n), status=status,  # type: ignore[arg-type]
                            created_at=(T0 + timedelta(minutes=minutes)).isoformat(),
                            updated_at=(T0 + timedelta(minutes=minutes + 1)).isoformat(),
                            external_ids={"invoice": f"I{n}"}, deal_name=f"Deal {n}")


def test_window_lists_newest_first_across_day_partitions(ledger: TableLedger) -> None:
    for n, minutes in enumerate([0, 20, 40, 60, 80]):  # crosses midnight UTC after 30 minutes
        ledger.upsert(tx(n, minutes))
    page = ledger.query(T0 + timedelta(minutes=10), T0 + timedelta(minutes=70))
    assert [i["id"] for i in page.items] == ["deal-3", "deal-2", "deal-1"]
    assert page.counts == {"completed": 3}
    assert page.continuation is None


def test_paging_with_continuation_returns_every_row_once(ledger: TableLedger) -> None:
    for n in range(7):
        ledger.upsert(tx(n, n * 15))
    seen: list[str] = []
    token = None
    for _ in range(10):
        page = ledger.query(T0 - timedelta(hours=1), T0 + timedelta(hours=3), limit=3, continuation=token)
        seen += [i["id"] for i in page.items]
        token = page.continuation
        if token is None:
            break
    assert seen == [f"deal-{n}" for n in reversed(range(7))]


def test_filters_by_status_and_deal_and_counts_the_whole_window(ledger: TableLedger) -> None:
    ledger.upsert(tx(1, 1, "completed"))
    ledger.upsert(tx(2, 2, "needs_attention"))
    ledger.upsert(tx(3, 3, "compensated", deal="77"))
    window = (T0, T0 + timedelta(minutes=5))
    page = ledger.query(*window, status="needs_attention")
    assert [i["id"] for i in page.items] == ["deal-2"]
    assert page.counts == {"completed": 1, "needs_attention": 1, "compensated": 1}
    assert [i["id"] for i in ledger.query(*window, deal="77").items] == ["deal-3"]


def test_upsert_replaces_the_row_when_the_status_changes(ledger: TableLedger) -> None:
    ledger.upsert(tx(1, 1, "running"))
    ledger.upsert(tx(1, 1, "completed"))
    page = ledger.query(T0, T0 + timedelta(minutes=5))
    assert [(i["id"], i["status"], i["invoice_id"]) for i in page.items] == [("deal-1", "completed", "I1")]
    assert ledger.for_deal("1")[0]["status"] == "completed"


def test_a_forged_continuation_is_refused(ledger: TableLedger) -> None:
    with pytest.raises(InvalidContinuation):
        ledger.query(T0, T0 + timedelta(hours=1), continuation="bm90LWEtdG9rZW4")


def test_a_late_write_of_an_older_state_never_replaces_a_newer_one(ledger: TableLedger) -> None:
    newer = tx(1, 0, status="needs_attention").model_copy(update={"updated_at": (T0 + timedelta(hours=1)).isoformat()})
    older = tx(1, 0, status="running")  # e.g. a stopped orchestration's in-flight write, landing late
    ledger.upsert(newer)
    ledger.upsert(older)
    [row] = ledger.query(T0 - timedelta(hours=1), T0 + timedelta(hours=2)).items
    assert row["status"] == "needs_attention"
    assert [r["status"] for r in ledger.for_deal("1")] == ["needs_attention"]
    ledger.upsert(tx(1, 0, status="completed").model_copy(update={"updated_at": (T0 + timedelta(hours=2)).isoformat()}))
    [row] = ledger.query(T0 - timedelta(hours=1), T0 + timedelta(hours=2)).items
    assert row["status"] == "completed"  # a newer one still does


def test_the_same_state_written_twice_is_one_row(ledger: TableLedger) -> None:
    ledger.upsert(tx(2, 0))
    ledger.upsert(tx(2, 0))  # an activity run again (at least once)
    assert [i["id"] for i in ledger.query(T0 - timedelta(hours=1), T0 + timedelta(hours=2)).items] == ["deal-2"]


def test_the_deal_row_keeps_the_newer_status_too(ledger: TableLedger) -> None:
    newer = tx(3, 0, status="skipped").model_copy(update={"updated_at": (T0 + timedelta(hours=1)).isoformat()})
    ledger.upsert(newer)
    ledger.upsert(tx(3, 0, status="running"))
    assert [r["status"] for r in ledger.for_deal("3")] == ["skipped"]


def test_a_write_without_a_readable_time_never_replaces_one_with_a_time(ledger: TableLedger) -> None:
    ledger.upsert(tx(4, 0, status="completed"))
    ledger.upsert(tx(4, 0, status="running").model_copy(update={"updated_at": ""}))
    naive = (T0 + timedelta(hours=3)).replace(tzinfo=None).isoformat()  # naive: read as UTC, and newer
    ledger.upsert(tx(4, 0, status="compensated").model_copy(update={"updated_at": naive}))
    [row] = ledger.query(T0 - timedelta(hours=1), T0 + timedelta(hours=2)).items
    assert row["status"] == "compensated"
