"""Thin timer functions: the scheduled batch sync (skipped while one is still running) with the check for
stranded transactions and the ledger repair, and the history purge."""

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from shared import composition, names
from shared.adapters.durable_client import DurableClientAdapter
from shared.application.retention import purge_old_history
from shared.application.scheduled import scheduled_run
from shared.config import get_settings

bp = df.Blueprint()


def _durable(client: df.DurableOrchestrationClient) -> DurableClientAdapter:
    # Blueprints never import each other: each hands the SDK types to the shared adapter itself.
    return DurableClientAdapter(client, entity_id=df.EntityId, runtime_status=df.OrchestrationRuntimeStatus)


@bp.function_name(names.SCHEDULED_SYNC)
@bp.timer_trigger(arg_name="timer", schedule="%SYNC_SCHEDULE%", run_on_startup=False, use_monitor=False)
@bp.durable_client_input(client_name="client")
async def scheduled_sync(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    adapter = _durable(client)
    await scheduled_run(adapter, composition.ledger(), adapter.signal_entity, get_settings(), datetime.now(UTC))


@bp.function_name(names.PURGE_HISTORY)
@bp.timer_trigger(arg_name="timer", schedule="%PURGE_SCHEDULE%", run_on_startup=False, use_monitor=False)
@bp.durable_client_input(client_name="client")
async def purge_history(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await purge_old_history(_durable(client), get_settings().history_retention_days, datetime.now(UTC))
