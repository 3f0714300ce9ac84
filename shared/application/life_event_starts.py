"""Starting an invoiced deal's life events (``deal_change``), one at a time per deal.

A delivery's life events go to one ``life_event_batch`` orchestration, as its wins go to ``webhook_batch``.
Per deal, one life event runs at a time: the n-th is ``deal-<id>-change<n>``, started only once the deal's
sync and its earlier life events have ended (``waiting`` until then; the batch asks again on a timer), so
events are never lost and never applied side by side. One that has not begun yet reads the deal after this
event arrived, and covers it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from shared import names
from shared.application.messages import LifeEventStarts, StartReport
from shared.application.next_generation import MAX_GENERATIONS
from shared.application.ports import ACTIVE, DurableClient
from shared.application.starting import batch_seen, exists, report_of, start_unless_raced, start_unless_seen
from shared.config import Settings
from shared.sync.identity import transaction_id
from shared.sync.life_events import DealChangeInput, Event, life_event_id
from shared.sync.policy import SagaPolicy

# A deal's life events so far are looked up one by one; past this many a person looks (it logs as stuck).
MAX_LIFE_EVENTS = 500


async def start_life_event_batch(client: DurableClient, batch_id: str, events: dict[str, Event],
                                 settings: Settings) -> bool:
    """Hand one delivery's life events to a ``life_event_batch``; True if this delivery was handed over before."""
    request = LifeEventStarts(events=events, on_changed=settings.on_deal_changed, on_lost=settings.on_deal_lost,
                              policy=SagaPolicy.from_settings(settings), accepted_at=datetime.now(UTC).isoformat())
    return not await start_unless_seen(client, names.LIFE_EVENT_BATCH, batch_id, request.model_dump(mode="json"),
                                       batch_seen)


async def _life_event_to_start(client: DurableClient, deal_id: str) -> tuple[str, str]:
    """The deal's life event to act on and what to do: ``start`` it, ``covered`` (one not begun yet will read
    the deal after this event) or ``wait`` (the deal's sync or an earlier life event is still running)."""
    for generation in range(1, MAX_GENERATIONS + 1):
        sync_id = transaction_id(deal_id, generation)
        info = await client.status(sync_id)
        if not exists(info):
            break
        assert info is not None
        if info.runtime_status in ACTIVE:
            return sync_id, "wait"
    for n in range(1, MAX_LIFE_EVENTS + 1):
        tx_id = life_event_id(deal_id, n)
        info = await client.status(tx_id)
        if exists(info):
            assert info is not None
            if info.runtime_status == "Pending":
                return tx_id, "covered"
            if info.runtime_status in ACTIVE:
                return tx_id, "wait"
            continue
        if await client.entity_state(names.SYNC_TRANSACTION, tx_id):
            continue  # its history was purged; its transaction stays, and its id is never used again
        return tx_id, "start"
    return life_event_id(deal_id, MAX_LIFE_EVENTS), "covered"


async def start_life_events(client: DurableClient, request: LifeEventStarts) -> StartReport:
    """Start each deal's next ``deal_change`` unless one that will read the deal afterwards is there already.

    Safe to run again (activities run at least once): a deal started by an earlier run is covered now.
    """

    async def one(deal_id: str, event: Event) -> tuple[str, str, str]:
        tx_id, decision = await _life_event_to_start(client, deal_id)
        if decision != "start":
            return deal_id, tx_id, decision
        payload = DealChangeInput(deal_id=deal_id, event=event, on_changed=request.on_changed,
                                  on_lost=request.on_lost, trigger=request.trigger, policy=request.policy)
        started = await start_unless_raced(client, names.DEAL_CHANGE, tx_id, payload.model_dump(mode="json"),
                                           exists)
        return deal_id, tx_id, "start" if started else "covered"

    return report_of(await asyncio.gather(*(one(d, e) for d, e in request.events.items()), return_exceptions=True))
