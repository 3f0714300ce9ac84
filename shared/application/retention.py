"""Purges the durable history of orchestrations that finished more than HISTORY_RETENTION_DAYS ago.

The task hub otherwise keeps every run's history for ever (storage that is paid for and read by
nobody). What stays: the ``sync_transaction`` entities (the truth of each transaction; entities are
never "finished", so a purge by status leaves them), the ledger, and every orchestration still running
(a transaction waiting for a person keeps its history). Starters ask the entity when an instance is
gone, so a purged deal is not synced again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)


class HistoryPurger(Protocol):
    async def purge_finished(self, created_before: datetime) -> int:
        """Delete the history of Completed, Failed and Terminated orchestrations created before the time."""
        ...


async def purge_old_history(client: HistoryPurger, retention_days: float, now: datetime) -> int | None:
    """Purge what finished before the retention window; None when retention is off (0 days).

    Days may have decimals (tests purge after seconds); the cut-off is on the instance's creation time.
    """
    if retention_days <= 0:
        return None
    cutoff = now - timedelta(days=retention_days)
    deleted = await client.purge_finished(cutoff)
    log.info("purged the history of %d finished orchestration(s) created before %s", deleted, cutoff.isoformat())
    return deleted
