"""Handing one HubSpot delivery's won deals to a ``webhook_batch`` orchestration: one status read, one start."""

from __future__ import annotations

from datetime import UTC, datetime

from shared import names
from shared.application.messages import DealSyncStarts
from shared.application.ports import DurableClient
from shared.application.starting import batch_seen, start_unless_seen
from shared.config import Settings
from shared.sync.policy import SagaPolicy


async def start_webhook_batch(client: DurableClient, batch_id: str, deal_ids: list[str], settings: Settings) -> bool:
    """Hand one delivery's deals to a ``webhook_batch`` orchestration; True if this delivery was handed over before.

    One status read and at most one start, whatever the number of deals, so the webhook answers at once;
    the orchestration starts the deal syncs.
    """
    policy = SagaPolicy.from_settings(settings)
    if len(set(deal_ids)) > 1:
        # Several won deals in one delivery: a burst, whose first deal queues for the burst's batch rather
        # than making its own calls. A delivery's lone deal still goes straight to its calls.
        policy = policy.model_copy(update={"batch_solo": False})
    request = DealSyncStarts(deal_ids=deal_ids, trigger="webhook", policy=policy,
                             accepted_at=datetime.now(UTC).isoformat())
    return not await start_unless_seen(client, names.WEBHOOK_BATCH, batch_id, request.model_dump(mode="json"),
                                       batch_seen)
