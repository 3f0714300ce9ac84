"""What each scheduled run does: start the batch, then look after the transactions it does not run itself."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from shared import names
from shared.application.auto_retry import retry_unreachable_rollbacks
from shared.application.batch_start import start_batch
from shared.application.ledger_repair import RepairableLedger, repair_ledger
from shared.application.ports import DurableClient, EntitySignal
from shared.application.stranded import mark_stranded
from shared.config import Settings

log = logging.getLogger(__name__)

# Deal syncs created this long ago at most are looked at (each is handed over once, then skipped); the
# bound keeps the host's one-page listing to recent ones.
STRANDED_LOOKBACK = timedelta(days=7)
# Transactions started this long ago at most have their ledger rows checked against their entities (and
# their transient rollbacks retried): an outage is noticed within one schedule, and the window bounds the
# work of every run.
LEDGER_REPAIR_LOOKBACK = timedelta(days=2)


async def scheduled_run(client: DurableClient, ledger: RepairableLedger, signal: EntitySignal, settings: Settings,
                        now: datetime) -> None:
    """The batch (skipped while one runs), then stranded transactions to a person, then the ledger repair
    (so that a transaction just handed over is written as it now stands), then automatic retries (so that a
    rollback whose ledger write an outage swallowed is seen too). Each part runs even when an earlier one
    failed (storage still down, say): the next schedule tries again."""
    async def batch() -> None:
        if await start_batch(client, settings, since=None, trigger="schedule") is None:
            log.info("scheduled sync skipped: %s is still running", names.BATCH_INSTANCE_ID)

    parts: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("scheduled batch", batch),
        ("stranded check", lambda: mark_stranded(client, ledger, signal, now - STRANDED_LOOKBACK, now)),
        ("ledger repair", lambda: repair_ledger(client, ledger, now - LEDGER_REPAIR_LOOKBACK, now)),
        ("automatic retry", lambda: retry_unreachable_rollbacks(client, ledger, settings,
                                                                 now - LEDGER_REPAIR_LOOKBACK, now)),
    ]
    for what, part in parts:
        try:
            await part()
        except Exception:
            log.exception("%s did not run to the end; the next schedule tries again", what)
