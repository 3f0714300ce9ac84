"""Thin timer functions: the scheduled batch sync, skipped while one is still running."""

import logging

import azure.durable_functions as df
import azure.functions as func

from http_triggers.blueprint import ClientAdapter
from shared import names
from shared.api.starter import start_batch
from shared.config import get_settings

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name(names.SCHEDULED_SYNC)
@bp.timer_trigger(arg_name="timer", schedule="%SYNC_SCHEDULE%", run_on_startup=False, use_monitor=False)
@bp.durable_client_input(client_name="client")
async def scheduled_sync(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    started = await start_batch(ClientAdapter(client), get_settings(), since=None, trigger="schedule")
    if started is None:
        log.info("scheduled sync skipped: %s is still running", names.BATCH_INSTANCE_ID)
