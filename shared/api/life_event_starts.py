"""Life events of invoiced deals from HubSpot webhooks: which events count, and starting one ``deal_change`` at a time.

A delivery's life events (an ``amount`` change, ``dealstage`` leaving the won stage, ``deal.deletion``) go to
one ``life_event_batch`` orchestration, as its wins go to ``webhook_batch``: the webhook does no CRM call, so
the events of deals this app never invoiced are sorted out later, by the read (no transaction for them).

Per deal, one life event runs at a time: the n-th is ``deal-<id>-change<n>``, started only once the deal's
sync and its earlier life events have ended (``waiting`` until then; the batch asks again on a timer), so
events are never lost and never applied side by side. One that has not begun yet reads the deal after this
event arrived, and covers it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared import names
from shared.api.starter import (
    ACTIVE,
    MAX_GENERATIONS,
    DurableClient,
    InstanceInfo,
    StartReport,
    _batch_seen,
    _start_unless_raced,
    _start_unless_seen,
    report_of,
)
from shared.config import Settings
from shared.sync.identity import transaction_id
from shared.sync.life_events import DealChangeInput, Event, OnChanged, OnLost, life_event_id
from shared.sync.policy import SagaPolicy

# What HubSpot must send for them (hubspot-app/src/app/webhooks/webhooks-hsmeta.json subscribes to these).
LIFE_EVENT_TYPES = frozenset({"deal.propertyChange", "deal.deletion"})
LIFE_PROPERTIES = frozenset({"amount", "dealstage"})
# The strongest of a deal's events in one delivery names its life event (the read decides in the end).
STRENGTH: dict[str, int] = {"changed": 1, "lost": 2, "deleted": 3}
# A deal's life events so far are looked up one by one; past this many a person looks (it logs as stuck).
MAX_LIFE_EVENTS = 500
# A pipeline stage's internal id (built-in names such as "closedlost", or a custom stage's number): anything
# else in a signed event is no stage a deal can be in, and starts nothing.
_STAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def life_event_of(event: dict[str, Any], won_stage: str) -> tuple[str, Event] | None:
    """``(deal id, what happened)`` for a life event HubSpot sends, else None."""
    kind = event.get("subscriptionType")
    object_id = event.get("objectId")
    if isinstance(object_id, bool) or not isinstance(object_id, int | str):
        return None
    deal_id = str(object_id)
    if not (deal_id.isascii() and deal_id.isdigit()) or len(deal_id) > 20:
        return None
    if kind == "deal.deletion":
        return deal_id, "deleted"
    if kind != "deal.propertyChange":
        return None
    prop = event.get("propertyName")
    if prop == "amount":
        return deal_id, "changed"
    stage = event.get("propertyValue")
    if prop == "dealstage" and isinstance(stage, str) and _STAGE_ID.fullmatch(stage) and stage != won_stage:
        return deal_id, "lost"
    return None


@dataclass
class LifeEvents:
    """The life events of one delivery: each deal once, with its strongest event, in the order of its first."""

    events: dict[str, Event] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    def add(self, event: dict[str, Any], won_stage: str) -> bool:
        """Take ``event`` if it is a life event (True), a redelivered one within the delivery included."""
        found = life_event_of(event, won_stage)
        if found is None:
            return False
        deal_id, what = found
        key = str(event.get("eventId", ""))
        self.keys.append(f"{key}:{deal_id}:{what}" if key else json.dumps(event, sort_keys=True, default=str))
        if STRENGTH[what] > STRENGTH.get(self.events.get(deal_id, ""), 0):
            self.events[deal_id] = what
        return True

    @property
    def batch_id(self) -> str | None:
        """The same accepted events give the same id, so a redelivery is recognised by one status read."""
        if not self.keys:
            return None
        joined = "\n".join(sorted(set(self.keys)))
        return names.LIFE_BATCH_PREFIX + hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


class LifeEventStarts(BaseModel):
    """The input of ``life_event_batch`` and of ``start_life_events``: the settings frozen at acceptance."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    events: dict[str, Event] = Field(min_length=1, max_length=100)  # deal id -> what happened
    on_changed: OnChanged = "update"
    on_lost: OnLost = "void"
    trigger: str = "webhook"
    policy: SagaPolicy = Field(default_factory=SagaPolicy)
    accepted_at: str = ""


async def start_life_event_batch(client: DurableClient, batch_id: str, events: dict[str, Event],
                                 settings: Settings) -> bool:
    """Hand one delivery's life events to a ``life_event_batch``; True if this delivery was handed over before."""
    request = LifeEventStarts(events=events, on_changed=settings.on_deal_changed, on_lost=settings.on_deal_lost,
                              policy=SagaPolicy.from_settings(settings), accepted_at=datetime.now(UTC).isoformat())
    return not await _start_unless_seen(client, names.LIFE_EVENT_BATCH, batch_id, request.model_dump(mode="json"),
                                        _batch_seen)


def _exists(info: InstanceInfo | None) -> bool:
    return info is not None and info.runtime_status is not None


async def _life_event_to_start(client: DurableClient, deal_id: str) -> tuple[str, str]:
    """The deal's life event to act on and what to do: ``start`` it, ``covered`` (one not begun yet will read
    the deal after this event) or ``wait`` (the deal's sync or an earlier life event is still running)."""
    for generation in range(1, MAX_GENERATIONS + 1):
        sync_id = transaction_id(deal_id, generation)
        info = await client.status(sync_id)
        if not _exists(info):
            break
        assert info is not None
        if info.runtime_status in ACTIVE:
            return sync_id, "wait"
    for n in range(1, MAX_LIFE_EVENTS + 1):
        tx_id = life_event_id(deal_id, n)
        info = await client.status(tx_id)
        if _exists(info):
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
        started = await _start_unless_raced(client, names.DEAL_CHANGE, tx_id, payload.model_dump(mode="json"),
                                            _exists)
        return deal_id, tx_id, "start" if started else "covered"

    return report_of(await asyncio.gather(*(one(d, e) for d, e in request.events.items()), return_exceptions=True))
