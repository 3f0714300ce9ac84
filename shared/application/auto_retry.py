"""Offers transactions rolled back only because a service was unreachable a new attempt, once it may be back.

A saga rides out short outages with durable-timer retries; an outage longer than its retries or its
deadline rolls the deal back with a transient reason (``kind`` "transient": Xero or HubSpot answering 5xx,
timing out, its identity service down). Nothing was wrong with the deal, so the scheduled run starts its
next generation, ``AUTO_RETRY_AFTER_MINUTES`` after the rollback, at most ``AUTO_RETRY_MAX`` times in a row
(a service that stays down must not be hammered for ever: after that the transaction waits for a person's
Retry like any other rollback). Rejected (the deal's data) and permanent rollbacks are never retried by themselves.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Protocol

from shared import names
from shared.application.deal_sync_starts import start_deal_syncs
from shared.application.ports import DurableClient
from shared.config import Settings
from shared.domain.transaction import TransactionState
from shared.ledger.layout import parse_time
from shared.sync.identity import transaction_id
from shared.sync.policy import SagaPolicy

log = logging.getLogger(__name__)

TRIGGER = "auto_retry"


class LedgerIndex(Protocol):
    def index(self, start: datetime, end: datetime) -> dict[str, tuple[str, str]]: ...


def rolled_back_unreachable(state: TransactionState) -> bool:
    """Rolled back (every undo done) because a service could not be reached, not because of the deal's data."""
    return state.status == "compensated" and (state.reason or {}).get("kind") == "transient"


async def _auto_retries_in_a_row(client: DurableClient, state: TransactionState, limit: int) -> int:
    """How many of the deal's latest generations, this one included, the schedule started (at most ``limit``)."""
    count, current = 0, state
    while current.trigger == TRIGGER and count < limit:
        count += 1
        if current.generation <= 1:
            break
        raw = await client.entity_state(names.SYNC_TRANSACTION, transaction_id(current.deal_id, current.generation - 1))
        if not isinstance(raw, dict):
            break
        current = TransactionState.model_validate(raw)
    return count


async def retry_unreachable_rollbacks(client: DurableClient, ledger: LedgerIndex, settings: Settings,
                                      since: datetime, now: datetime) -> list[str]:
    """Start the next generation of every deal whose latest transaction since ``since`` was rolled back only
    because a service was unreachable; returns the transactions started."""
    if not settings.auto_retry_unreachable:
        return []
    due_before = now - timedelta(minutes=settings.auto_retry_after_minutes)
    rows = await asyncio.to_thread(ledger.index, since, now)
    latest: dict[str, TransactionState] = {}  # per deal, its newest rollback that is due
    for tx, (status, updated_at) in rows.items():
        try:
            if status != "compensated" or parse_time(updated_at) > due_before:
                continue
            raw = await client.entity_state(names.SYNC_TRANSACTION, tx)
            state = TransactionState.model_validate(raw) if isinstance(raw, dict) else None
            if state is None or not rolled_back_unreachable(state):
                continue
            known = latest.get(state.deal_id)
            if known is None or state.generation > known.generation:
                latest[state.deal_id] = state
        except Exception:  # one unreadable transaction must not keep the others from their retry
            log.exception("transaction %s not considered for an automatic retry; the next run looks again", tx)
    deals: list[str] = []
    for deal_id, state in latest.items():
        # Counted from the deal's newest rollback: an older one of the same deal says nothing about the limit.
        try:
            if await client.entity_state(names.SYNC_TRANSACTION, transaction_id(deal_id, state.generation + 1)):
                continue  # a later generation exists (a person's retry, a new win): it decides, not this one
            if await _auto_retries_in_a_row(client, state, settings.auto_retry_max) < settings.auto_retry_max:
                deals.append(deal_id)
        except Exception:
            log.exception("deal %s not considered for an automatic retry; the next run looks again", deal_id)
    if not deals:
        return []
    # The same start rules as a webhook's: only a deal whose latest transaction is this rollback gets a new
    # generation; one that a person or a trigger has started again since is a duplicate here.
    report = await start_deal_syncs(client, deals, TRIGGER, SagaPolicy.from_settings(settings))
    if report.started:
        log.warning("automatic retry of %d transactions rolled back while a service was unreachable: %s",
                    len(report.started), ", ".join(report.started[:20]))
    return report.started
