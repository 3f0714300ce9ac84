"""The batch table on Azure Table storage: one row per batch of queued deal steps, read by time window or by id.

- Time rows: PartitionKey = the UTC date the batch started (``2026-11-23``), RowKey = inverted milliseconds +
  a hash of the batch id, so a partition lists newest first and a window is one RowKey range per day.
- Id rows: PartitionKey = ``batch-<hash of the batch id>``, RowKey = ``id``: the same columns, for the
  lookup by id (a step names its batch, not when it ran).

Batch ids are hashed into the keys, never used as keys: an organisation's id may hold characters a key may
not. Writes are upserts of the same values (the flusher computes a row from its own history), so a delivery
that runs twice leaves the same two rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.ledger.layout import MAX_COLUMN_CHARS, inverted, parse_time
from shared.ledger.lazy_table import LazyTable

LIST_LIMIT = 500
_INTS = {"Size": "size", "Calls": "calls", "Ok": "ok", "Rejected": "rejected", "Errors": "errors",
         "Delivered": "delivered", "Missed": "missed"}


def _digest(batch_id: str) -> str:
    return hashlib.sha256(batch_id.encode()).hexdigest()[:32]


def id_keys(batch_id: str) -> tuple[str, str]:
    return f"batch-{_digest(batch_id)}", "id"


def time_keys(batch_id: str, started_at: datetime) -> tuple[str, str]:
    return started_at.astimezone(UTC).date().isoformat(), f"{inverted(started_at)}-{_digest(batch_id)}"


def _composition(keys: list[str]) -> str:
    """The item keys joined by spaces, as many as fit one column (the row stays far under 64 KiB)."""
    kept: list[str] = []
    length = 0
    for key in keys:
        length += len(key) + 1
        if length > MAX_COLUMN_CHARS:
            break
        kept.append(key)
    return " ".join(kept)


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def to_row(row: dict[str, Any], started_at: datetime) -> dict[str, Any]:
    """The columns of a batch's row (the flusher's ``row``): composition, key, calls, counts, latency.

    An error keeps its kind, service, code and message only (never a request or a token)."""
    items = [str(k) for k in row.get("items") or []]
    size = _int(row.get("size")) or len(items)
    ok, rejected = _int(row.get("ok")), _int(row.get("rejected"))
    raw_error = row.get("error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    return {
        "BatchId": str(row.get("batch_id", "")), "Kind": str(row.get("kind", "")), "Org": str(row.get("org", "")),
        "Key": str(row.get("key", "")), "Items": _composition(items), "Size": size, "Calls": _int(row.get("calls")),
        "Ok": ok, "Rejected": rejected, "Errors": max(0, size - ok - rejected),
        "ErrorKind": str(error.get("kind", "")), "ErrorService": str(error.get("service", "")),
        "ErrorCode": str(error.get("code", "")), "ErrorMessage": str(error.get("message", ""))[:1000],
        "Seconds": float(row.get("seconds") or 0.0), "CallSeconds": float(row.get("call_seconds") or 0.0),
        "StartedAt": started_at.isoformat(), "EndedAt": str(row.get("ended") or ""),
        "Delivered": _int(row.get("delivered")), "Missed": _int(row.get("missed")),
    }


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A batch row as the API shows it; ``transactions`` are the deals' transaction ids, one per item."""
    items = str(row.get("Items") or "").split()
    shown: dict[str, Any] = {"id": row.get("BatchId", ""), "kind": row.get("Kind", ""), "org": row.get("Org", ""),
                             "key": row.get("Key", ""), "items": items,
                             "transactions": [k.split(":", 1)[0] for k in items]}
    shown.update({name: _int(row.get(column)) for column, name in _INTS.items()})
    shown["items_truncated"] = len(items) < shown["size"]
    shown.update({"seconds": row.get("Seconds", 0.0), "call_seconds": row.get("CallSeconds", 0.0),
                  "started_at": row.get("StartedAt", ""), "ended_at": row.get("EndedAt", "")})
    shown["error"] = ({"kind": row.get("ErrorKind", ""), "service": row.get("ErrorService", ""),
                       "code": row.get("ErrorCode", ""), "message": row.get("ErrorMessage", "")}
                      if row.get("ErrorCode") or row.get("ErrorMessage") else None)
    return shown


class TableBatchRows(LazyTable):
    """The batch rows in one Azure Table; safe to share between threads."""

    def record(self, row: dict[str, Any]) -> None:
        """Upsert the batch's time row and id row (the same values each time for the same batch)."""
        try:
            started = parse_time(str(row.get("started") or ""))
        except ValueError:  # a flusher that started before rows carried their start: its delivery's time
            started = datetime.now(UTC)
        columns = to_row(row, started)
        pk, rk = time_keys(columns["BatchId"], started)
        self.table.upsert_entity({"PartitionKey": pk, "RowKey": rk, **columns}, mode=UpdateMode.REPLACE)
        ipk, irk = id_keys(columns["BatchId"])
        self.table.upsert_entity({"PartitionKey": ipk, "RowKey": irk, **columns}, mode=UpdateMode.REPLACE)

    def get(self, batch_id: str) -> dict[str, Any] | None:
        pk, rk = id_keys(batch_id)
        try:
            found = dict(self.table.get_entity(pk, rk))
        except ResourceNotFoundError:
            return None
        return from_row(found) if found.get("BatchId") == batch_id else None

    def window(self, start: datetime, end: datetime, limit: int = LIST_LIMIT) -> tuple[list[dict[str, Any]], bool]:
        """Batches that started in [start, end], newest first, at most ``limit``; and whether more were left."""
        shown: list[dict[str, Any]] = []
        for row in self._rows(start, end):
            if len(shown) == limit:
                return shown, True
            shown.append(from_row(dict(row)))
        return shown, False

    def _rows(self, start: datetime, end: datetime) -> Iterator[Any]:
        day, first = end.astimezone(UTC).date(), start.astimezone(UTC).date()
        low, high = inverted(end), inverted(start)  # newest first: inverted(end) sorts before inverted(start)
        while day >= first:
            yield from self.table.query_entities(
                f"PartitionKey eq '{day.isoformat()}' and RowKey ge '{low}' and RowKey lt '{high}~'")
            day -= timedelta(days=1)


__all__ = ["TableBatchRows", "from_row", "id_keys", "time_keys", "to_row"]
