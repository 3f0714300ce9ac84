"""Thin timer functions: the scheduled batch sync (skipped while one is still running) with the check for
stranded transactions, and the history purge."""

import logging
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import azure.functions as func

from http_triggers.blueprint import ClientAdapter
from shared import composition, names
from shared.api.starter import start_batch
from shared.config import get_settings
from shared.sync.retention import purge_old_history
from shared.sync.stranded import mark_stranded

# Deal syncs created this long ago at most are looked at (each is handed over once, then skipped); the
# bound keeps the host's one-page listing to recent ones.
STRANDED_LOOKBACK = timedelta(days=7)

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name(names.SCHEDULED_SYNC)
@bp.timer_trigger(arg_name="timer", schedule="%SYNC_SCHEDULE%", run_on_startup=False, use_monitor=False)
@bp.durable_client_input(client_name="client")
async def scheduled_sync(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    adapter = ClientAdapter(client)
    started = await start_batch(adapter, get_settings(), since=None, trigger="schedule")
    if started is None:
        log.info("scheduled sync skipped: %s is still running", names.BATCH_INSTANCE_ID)
    now = datetime.now(UTC)
    await mark_stranded(adapter, composition.ledger(), adapter.signal_entity, now - STRANDED_LOOKBACK, now)


@bp.function_name(names.PURGE_HISTORY)
@bp.timer_trigger(arg_name="timer", schedule="%PURGE_SCHEDULE%", run_on_startup=False, use_monitor=False)
@bp.durable_client_input(client_name="client")
async def purge_history(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await purge_old_history(ClientAdapter(client), get_settings().history_retention_days, datetime.now(UTC))
