"""Starting a ``deal_sync`` per won deal whose latest transaction does not cover the win (a few at a time)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable

from shared import names
from shared.application.messages import StartReport
from shared.application.next_generation import Decision, counts_as_existing, transaction_to_start
from shared.application.ports import DurableClient
from shared.application.starting import report_of, start_unless_raced
from shared.sync.policy import DealSyncInput, SagaPolicy

# Deal syncs being started at once by one worker process, across all the batches it is running. A start
# is cheap for the caller but admits a whole saga; a burst of deliveries admitted all at once would crowd
# the worker's event loop, which also answers the webhooks (within HubSpot's 5 s) and runs the sagas.
START_CONCURRENCY = 1
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _start_gate() -> asyncio.Semaphore:
    """The worker's gate (one per event loop: an asyncio semaphore belongs to the loop that first waits on it)."""
    loop = asyncio.get_running_loop()
    gate = _GATES.get(loop)
    if gate is None:
        gate = _GATES[loop] = asyncio.Semaphore(START_CONCURRENCY)
    return gate


async def start_deal_syncs(client: DurableClient, deal_ids: Iterable[str], trigger: str,
                           policy: SagaPolicy, accepted_at: str = "") -> StartReport:
    """Start ``deal_sync`` for each deal whose latest transaction does not cover it; the rest are duplicates,
    or ``waiting`` for a transaction still finishing (see ``next_generation.transaction_to_start``).

    Safe to run again (activities run at least once): a deal started by an earlier run is a duplicate now.
    A start that fails for any reason other than a concurrent start of the same transaction raises, once
    every other deal has been tried, so the caller retries and no deal is lost. The report keeps the order.
    """
    gate = _start_gate()

    async def one(deal_id: str) -> tuple[str, str, Decision]:
        async with gate:
            tx_id, generation, decision = await transaction_to_start(client, deal_id, accepted_at)
            if decision != "start":
                return deal_id, tx_id, decision
            request = DealSyncInput(deal_id=deal_id, trigger=trigger, policy=policy, generation=generation)
            started = await start_unless_raced(client, names.DEAL_SYNC, tx_id, request.model_dump(mode="json"),
                                               counts_as_existing)
            return deal_id, tx_id, "start" if started else "covered"

    return report_of(await asyncio.gather(*(one(d) for d in dict.fromkeys(deal_ids)), return_exceptions=True))
