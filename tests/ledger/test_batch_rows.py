"""The batch table on a real Azurite: one row per batch, by time window or by id, idempotent writes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from shared.application.batch_flushing import deliver
from shared.ledger.batch_rows import TableBatchRows
from tests.support.azurite import Azurite
from tests.support.fake_client import FakeDurableClient

T0 = datetime(2026, 11, 23, 23, 59, 58, tzinfo=UTC)


@pytest.fixture
def service(azurite: Azurite) -> TableServiceClient:
    return TableServiceClient.from_connection_string(azurite.connection_string)


def _row(batch_id: str, started: datetime, n: int = 3, **extra: Any) -> dict[str, Any]:
    return {"batch_id": batch_id, "key": f"batch-invoice-{batch_id}", "kind": "invoice", "org": "tenant/a#1",
            "size": n, "items": [f"deal-{i}:invoice:r0" for i in range(n)], "calls": 1, "ok": n - 1, "rejected": 1,
            "error": None, "seconds": 0.4, "call_seconds": 0.3, "started": started.isoformat(),
            "ended": (started + timedelta(seconds=0.4)).isoformat(), "delivered": n, "missed": 0, **extra}


def test_one_row_per_batch_written_twice_read_by_id_and_by_a_window_across_midnight(
        service: TableServiceClient) -> None:
    table = "Batches" + uuid.uuid4().hex[:10]
    rows = TableBatchRows(service, table)
    first, second = "flush-tenant/a#1-invoice-e1-b0", "flush-tenant/a#1-invoice-e1-b1"
    rows.record(_row(first, T0))
    rows.record(_row(first, T0))  # a delivery re-run: the same row again
    rows.record(_row(second, T0 + timedelta(seconds=4), n=2))  # the next day (UTC)
    assert len(list(service.get_table_client(table).list_entities())) == 4  # a time row and an id row each

    shown = rows.get(first)
    assert shown is not None
    assert (shown["kind"], shown["size"], shown["calls"], shown["ok"], shown["rejected"], shown["errors"]) == (
        "invoice", 3, 1, 2, 1, 0)
    assert shown["transactions"] == ["deal-0", "deal-1", "deal-2"] and not shown["items_truncated"]
    assert shown["started_at"] == T0.isoformat() and shown["error"] is None
    assert rows.get("flush-nobody-invoice-e1-b0") is None

    items, more = rows.window(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [i["id"] for i in items] == [second, first] and not more  # newest first, one partition a day
    assert rows.window(T0 - timedelta(hours=1), T0 + timedelta(hours=1), limit=1) == ([items[0]], True)
    assert rows.window(T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)) == ([], False)


def test_a_huge_composition_is_cut_with_its_count_kept_and_an_error_keeps_no_more_than_its_words(
        service: TableServiceClient) -> None:
    rows = TableBatchRows(service, "Batches" + uuid.uuid4().hex[:10])
    error = {"kind": "transient", "service": "xero", "code": "rate_limited", "message": "429", "detail": "x" * 9000}
    rows.record(_row("B-huge", T0, n=5000, ok=0, rejected=0, error=error))
    shown = rows.get("B-huge")
    assert shown is not None
    assert shown["size"] == 5000 and shown["errors"] == 5000 and shown["items_truncated"]
    assert 0 < len(shown["items"]) < 5000
    assert shown["error"] == {"kind": "transient", "service": "xero", "code": "rate_limited", "message": "429"}


def test_storage_away_loses_the_row_but_never_the_delivery(caplog: pytest.LogCaptureFixture) -> None:
    conn = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;")
    rows = TableBatchRows(TableServiceClient.from_connection_string(conn, retry_total=0), "Batches")
    client = FakeDurableClient()
    done = asyncio.run(deliver(client, [{"instance": "deal-1", "event": "e", "data": {"ok": True}}],
                               _row("B", T0, n=1), rows.record))
    assert done == {"delivered": 1, "missed": 0}
    assert "row not written" in caplog.text and "AccountKey" not in caplog.text
    assert client.events == [("deal-1", "e", {"ok": True})]
