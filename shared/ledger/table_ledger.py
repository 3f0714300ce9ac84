"""The ledger on Azure Table storage (Azurite locally): upsert a transaction, query a time window, find by deal."""

from __future__ import annotations

import base64
import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.domain.transaction import TransactionState
from shared.ledger.layout import deal_keys, decision_keys, from_row, inverted, parse_time, time_keys, to_row
from shared.ledger.lazy_table import LazyTable

LIST_COLUMNS = ["PartitionKey", "RowKey", "TransactionId", "DealId", "DealName", "Status", "Generation", "Round",
                "Trigger", "Kind", "StartedAt", "UpdatedAt", "EndedAt", "Amount", "Currency", "DealAmount",
                "AmountDifference", "InvoiceId", "InvoiceNumber", "CustomerId", "FailedStep", "ErrorMessage",
                "ErrorService"]


@dataclass
class LedgerPage:
    items: list[dict[str, Any]]
    counts: dict[str, int]
    continuation: str | None
    window: tuple[datetime, datetime]
    extra: dict[str, Any] = field(default_factory=dict)


class InvalidContinuation(ValueError):
    """The continuation token is not one this API gave out."""


def _encode(token: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(token, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, str]:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidContinuation("continuation is not a token this API gave out") from exc
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("p", "r")):
        raise InvalidContinuation("continuation is not a token this API gave out")
    return value


def _quote(value: str) -> str:
    return value.replace("'", "''")


class TableLedger(LazyTable):
    """The ledger in one Azure Table; safe to share between threads."""

    def upsert(self, state: TransactionState) -> None:
        """Write the transaction's time row and its deal row, unless the stored row is newer.

        Writers can arrive out of order: an activity retried late, or the write of an orchestration that
        was stopped landing after the scheduled run handed its transaction to a person. The newer state
        (by ``updated_at``) wins; the ETag makes the check and the write one step.
        """
        row = to_row(state)
        if not self._write_if_newer(row):
            return
        dp, dr = deal_keys(state.deal_id, state.id)
        # The deal row too: the batch reads its status to decide whether a deal has a transaction.
        self._write_if_newer({"PartitionKey": dp, "RowKey": dr, "TimePartition": row["PartitionKey"],
                              "TimeRow": row["RowKey"], "Status": state.status, "StartedAt": state.created_at,
                              "UpdatedAt": state.updated_at})

    def _write_if_newer(self, row: dict[str, Any]) -> bool:
        for _ in range(5):  # a concurrent writer changed the row between our read and write: look again
            try:
                stored = self.table.get_entity(row["PartitionKey"], row["RowKey"], select=["UpdatedAt"])
            except ResourceNotFoundError:
                try:
                    self.table.create_entity(row)
                    return True
                except ResourceExistsError:
                    continue
            if _later(str(stored.get("UpdatedAt", "")), str(row["UpdatedAt"])):
                return False
            try:
                self.table.update_entity(row, mode=UpdateMode.REPLACE, etag=stored.metadata["etag"],
                                         match_condition=MatchConditions.IfNotModified)
                return True
            except (ResourceModifiedError, ResourceNotFoundError):
                continue
        raise ResourceModifiedError("the ledger row kept changing under this write")

    def claim_decision(self, tx_id: str, round_: int, action: str, at: str) -> str | None:
        """Record a person's ``action`` as the decision of the transaction's round ``round_``; None if this
        call took it, else the action taken before. One insert: the table refuses a second row of the same
        keys, so two clicks at once cannot both decide."""
        pk, rk = decision_keys(tx_id, round_)
        try:
            self.table.create_entity({"PartitionKey": pk, "RowKey": rk, "Action": action, "At": at})
            return None
        except ResourceExistsError:
            try:
                return str(self.table.get_entity(pk, rk).get("Action", "")) or "another decision"
            except ResourceNotFoundError:  # released in between: the other click could not be delivered
                return self.claim_decision(tx_id, round_, action, at)

    def release_decision(self, tx_id: str, round_: int) -> None:
        """Undo ``claim_decision`` when the decision could not be delivered, so that it can be taken again."""
        pk, rk = decision_keys(tx_id, round_)
        with contextlib.suppress(ResourceNotFoundError):
            self.table.delete_entity(pk, rk)

    def get(self, tx_id: str, started_at: str) -> dict[str, Any] | None:
        partition, row = time_keys(tx_id, started_at)
        try:
            return from_row(dict(self.table.get_entity(partition, row)))
        except ResourceNotFoundError:
            return None

    def for_deal(self, deal_id: str) -> list[dict[str, Any]]:
        """Every transaction of a deal, newest first (one partition read)."""
        dp, _ = deal_keys(deal_id, "")
        rows = list(self.table.query_entities(f"PartitionKey eq '{_quote(dp)}'"))
        rows.sort(key=lambda r: str(r.get("StartedAt", "")), reverse=True)
        return [{"id": r["RowKey"], "status": r.get("Status", ""), "started_at": r.get("StartedAt", ""),
                 "updated_at": r.get("UpdatedAt", ""), "time_partition": r.get("TimePartition", ""),
                 "time_row": r.get("TimeRow", "")} for r in rows]

    def _window_rows(self, start: datetime, end: datetime, status: str | None, deal: str | None,
                     resume: dict[str, str] | None, columns: list[str]) -> Iterator[dict[str, Any]]:
        day = end.astimezone(UTC).date()
        first = start.astimezone(UTC).date()
        low, high = inverted(end), inverted(start)  # newest first: inverted(end) sorts before inverted(start)
        while day >= first:
            partition = day.isoformat()
            lower = low
            if resume is not None:
                if partition > resume["p"]:
                    day -= timedelta(days=1)
                    continue
                if partition == resume["p"]:
                    lower = max(lower, resume["r"] + "\x00")  # strictly after the last row served
            query = (f"PartitionKey eq '{partition}' and RowKey ge '{_quote(lower)}' "
                     f"and RowKey lt '{high}~'")
            if status:
                query += f" and Status eq '{_quote(status)}'"
            if deal:
                query += f" and DealId eq '{_quote(deal)}'"
            yield from self.table.query_entities(query, select=columns)
            day -= timedelta(days=1)

    def query(self, start: datetime, end: datetime, *, status: str | None = None, deal: str | None = None,
              limit: int = 50, continuation: str | None = None) -> LedgerPage:
        """Transactions that started in [start, end], newest first, ``limit`` a page, with counts per status."""
        resume = _decode(continuation) if continuation else None
        items: list[dict[str, Any]] = []
        next_token: str | None = None
        for row in self._window_rows(start, end, status, deal, resume, LIST_COLUMNS):
            if len(items) == limit:
                last = items[-1]
                next_token = _encode({"p": last["_p"], "r": last["_r"]})
                break
            item = from_row(dict(row))
            item["_p"], item["_r"] = row["PartitionKey"], row["RowKey"]
            items.append(item)
        for item in items:
            item.pop("_p"), item.pop("_r")
        counts: Counter[str] = Counter(
            str(r.get("Status", "")) for r in self._window_rows(start, end, None, deal, None, ["Status"])
        )
        return LedgerPage(items=items, counts=dict(counts), continuation=next_token, window=(start, end))

    def index(self, start: datetime, end: datetime) -> dict[str, tuple[str, str]]:
        """Every transaction that started in [start, end]: id → (status, updated at), three columns a row."""
        return {str(r.get("TransactionId", "")): (str(r.get("Status", "")), str(r.get("UpdatedAt", "")))
                for r in self._window_rows(start, end, None, None, None, ["TransactionId", "Status", "UpdatedAt"])}

    def scan_all(self) -> int:
        """Every row of the table (the baseline the time-window layout is measured against)."""
        return sum(1 for _ in self.table.list_entities(select=["Status"]))


def _later(stored: str, incoming: str) -> bool:
    """Whether the stored row's time is strictly later than the incoming one's (keep the stored row).

    Naive times count as UTC. A stored row without a readable time never wins (rows from before this
    column); an incoming write without one never replaces a row that has one.
    """
    try:
        kept = parse_time(stored)
    except ValueError:
        return False
    try:
        return kept > parse_time(incoming)
    except ValueError:
        return True
