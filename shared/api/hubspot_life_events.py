"""Life events of invoiced deals in HubSpot webhooks: which events count, and one delivery's events per deal.

A delivery's life events (an ``amount`` change, ``dealstage`` leaving the won stage, ``deal.deletion``) go to
one ``life_event_batch`` orchestration (``shared.application.life_event_starts``), as its wins go to
``webhook_batch``: the webhook does no CRM call, so the events of deals this app never invoiced are sorted
out later, by the read (no transaction for them).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from shared import names
from shared.sync.life_events import Event

# What HubSpot must send for them (hubspot-app/src/app/webhooks/webhooks-hsmeta.json subscribes to these).
LIFE_EVENT_TYPES = frozenset({"deal.propertyChange", "deal.deletion"})
LIFE_PROPERTIES = frozenset({"amount", "dealstage"})
# The strongest of a deal's events in one delivery names its life event (the read decides in the end).
STRENGTH: dict[str, int] = {"changed": 1, "lost": 2, "deleted": 3}
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
