"""Brings ledger rows back in line with their transactions' entities after the ledger could not be written.

The ledger is a projection, written by the orchestration when a transaction's status changes; the
``sync_transaction`` entity holds the truth. A storage outage longer than the ledger write's retries
leaves rows that say "running" for a finished transaction, or no row at all. The scheduled run calls
``repair_ledger``: one read of the window's rows (three columns) and one listing of the window's deal
syncs, then an entity read only for a row that may be behind (any status a transaction does not end in)
or a transaction without a row. A row is rewritten only when its entity is newer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared import names
from shared.application.ports import DurableClient
from shared.domain.transaction import TERMINAL, TransactionState
from shared.ledger.layout import parse_time

log = logging.getLogger(__name__)


class RepairableLedger(Protocol):
    def index(self, start: datetime, end: datetime) -> dict[str, tuple[str, str]]: ...

    def upsert(self, state: TransactionState) -> None: ...


@dataclass
class RepairReport:
    checked: int = 0
    rewritten: list[str] = field(default_factory=list)  # rows that were behind their entity
    added: list[str] = field(default_factory=list)  # transactions that had no row
    failed: list[str] = field(default_factory=list)  # could not be read or written this time: the next run


def _behind(row: tuple[str, str], state: TransactionState) -> bool:
    status, updated_at = row
    if status != state.status:
        return True
    try:
        return parse_time(state.updated_at) > parse_time(updated_at)
    except ValueError:
        return not updated_at  # a row without a readable time is older than any state that has one


async def repair_ledger(client: DurableClient, ledger: RepairableLedger, since: datetime,
                        now: datetime) -> RepairReport:
    """Rewrite the rows of transactions started since ``since`` that are behind their entity, and add missing ones."""
    report = RepairReport()
    rows = await asyncio.to_thread(ledger.index, since, now)  # table I/O off the worker's event loop
    suspects = [tx for tx, (status, _) in rows.items() if status not in TERMINAL]
    suspects += [tx for tx in await client.created_since("deal-", since) if tx not in rows]
    for tx in dict.fromkeys(suspects):
        report.checked += 1
        try:
            raw = await client.entity_state(names.SYNC_TRANSACTION, tx)
            if not isinstance(raw, dict):
                continue  # started but nothing recorded yet: its own first write makes the row
            state = TransactionState.model_validate(raw)
            row = rows.get(tx)
            if row is not None and not _behind(row, state):
                continue
            # The upsert keeps a stored row that is newer (another writer got there first).
            await asyncio.to_thread(ledger.upsert, state)
            (report.added if row is None else report.rewritten).append(tx)
        except Exception:  # one transaction's trouble must not keep the others from being repaired
            log.exception("ledger row of %s not repaired; the next scheduled run tries again", tx)
            report.failed.append(tx)
    if report.rewritten or report.added or report.failed:
        log.warning("ledger repair: %d rows rewritten, %d added, %d left for the next run (%d checked)",
                    len(report.rewritten), len(report.added), len(report.failed), report.checked)
    return report
