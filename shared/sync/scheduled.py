"""What each scheduled run does: start the batch, then look after the transactions it does not run itself."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared import names
from shared.api.starter import DurableClient, start_batch
from shared.config import Settings
from shared.sync.auto_retry import retry_unreachable_rollbacks
from shared.sync.ledger_repair import RepairableLedger, repair_ledger
from shared.sync.stranded import EntitySignal, mark_stranded

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
    """The batch (skipped while one runs), then stranded transactions to a person, then the ledger repair,
    then automatic retries. Each part runs even when an earlier one failed (storage still down, say): the
    next schedule tries again."""
    try:
        if await start_batch(client, settings, since=None, trigger="schedule") is None:
            log.info("scheduled sync skipped: %s is still running", names.BATCH_INSTANCE_ID)
    except Exception:
        log.exception("scheduled batch not started; the next schedule tries again")
    try:
        await mark_stranded(client, ledger, signal, now - STRANDED_LOOKBACK, now)
    except Exception:
        log.exception("stranded transactions not checked; the next schedule tries again")
    try:
        # After the stranded check, so that a transaction it hands to a person is written as it now stands.
        await repair_ledger(client, ledger, now - LEDGER_REPAIR_LOOKBACK, now)
    except Exception:
        log.exception("ledger not repaired; the next schedule tries again")
    try:
        # After the repair, so that a rollback whose ledger write an outage swallowed is seen too.
        await retry_unreachable_rollbacks(client, ledger, settings, now - LEDGER_REPAIR_LOOKBACK, now)
    except Exception:
        log.exception("rolled-back transactions not retried; the next schedule tries again")
