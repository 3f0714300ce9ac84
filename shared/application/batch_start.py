"""Starting the singleton batch sync (scheduled or asked for), never two at once."""

from __future__ import annotations

from shared import names
from shared.application.ports import ACTIVE, DurableClient
from shared.application.starting import start_unless_raced
from shared.config import Settings
from shared.sync.policy import SagaPolicy


async def start_batch(client: DurableClient, settings: Settings, *, since: str | None, trigger: str) -> str | None:
    """Start the singleton batch; None if one is still running (overlapping schedules never double-run)."""
    info = await client.status(names.BATCH_INSTANCE_ID)
    if info is not None and info.runtime_status in ACTIVE:
        return None
    payload = {"since": since, "stage": settings.hubspot_trigger_stage, "page_size": settings.batch_page_size,
               "concurrency": settings.batch_concurrency, "trigger": trigger,
               "policy": SagaPolicy.from_settings(settings).model_dump(mode="json")}
    # A refused start is "already running" when the schedule or another request won the race.
    started = await start_unless_raced(client, names.BATCH_SYNC, names.BATCH_INSTANCE_ID, payload,
                                       lambda found: found is not None and found.runtime_status in ACTIVE)
    return names.BATCH_INSTANCE_ID if started else None
