"""The batched steps' shared vocabulary: step kinds, queue items, batch keys, event and instance names."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared import names

Kind = Literal["load", "customer", "invoice", "markers", "void", "archive"]
KINDS: tuple[Kind, ...] = ("load", "customer", "invoice", "markers", "void", "archive")
MAX_XERO_ITEMS = 50  # Xero's recommended elements per write call, and the most ids one IDs= list takes
MAX_ITEMS: dict[Kind, int] = {"load": 100, "customer": MAX_XERO_ITEMS, "invoice": MAX_XERO_ITEMS,
                              "markers": 100,  # HubSpot's batch reads and updates take 100
                              "void": MAX_XERO_ITEMS, "archive": MAX_XERO_ITEMS}
QUEUE_ENTITY, FLUSHER = names.BATCH_QUEUE, names.BATCH_FLUSHER
RUN_BATCH, DELIVER_BATCH, WAKE_FLUSHER = names.RUN_BATCH, names.DELIVER_BATCH, names.WAKE_FLUSHER


class QueueItem(BaseModel):
    """One deal's step waiting for a batch: who waits (instance, event) and what to send (its own payload)."""

    model_config = ConfigDict(extra="forbid")

    key: str  # the step's idempotency key: deal-<id>[-gN]:<step>:r<round>
    instance: str
    event: str
    attempt: int
    payload: dict[str, Any]
    may_exist: bool = False  # a retry: an earlier attempt may have created it, so it is looked up first


class Gather(BaseModel):
    """How a deal's batched step meets its queue (from the deal's frozen policy).

    ``solo``: with nothing queued, go straight to the activity (a lone webhook deal; a backfill's deals
    come in waves and queue instead). ``seconds``/``max_seconds``: how long the flusher that this deal
    wakes lets a partial batch gather (see ``shared.sync.batch_queue``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    solo: bool = True
    seconds: float = 0
    max_seconds: float = 0


AT_ONCE = Gather()  # a lone deal goes alone, a batch leaves as soon as it is taken: no gather


class BatchInfo(BaseModel):
    """Where a step's result came from: shown on the deal's page ("created in batch B")."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str
    size: int
    element_id: str = ""


def queue_key(org: str, kind: str) -> str:
    return f"{org}:{kind}"


def flusher_id(org: str, kind: str, epoch: int) -> str:
    return f"flush-{org}-{kind}-e{epoch}"


def step_event(kind: str, round_: int, attempt: int) -> str:
    """One name per attempt: a stale or repeated delivery can never answer a later wait (the SDK keeps an
    early event for every later wait of the same name)."""
    return f"step:{kind}:r{round_}:a{attempt}"


def batch_key(kind: str, item_keys: list[str]) -> str:
    """Same composition, same key (under Xero's 128 characters); the attempt is part of each item key, so a
    batch rebuilt after a definite "nothing created" (every item re-enqueued with its next attempt) gets a
    new one."""
    digest = hashlib.sha256("\n".join(sorted(item_keys)).encode()).hexdigest()[:40]
    return f"batch-{kind}-{digest}"


def attempt_key(item: QueueItem) -> str:
    return f"{item.key}:a{item.attempt}"


def batch_request(batch_id: str, kind: str, items: list[QueueItem]) -> dict[str, Any]:
    """The batch activity's input, from the batch's items in the order taken: the flusher's, and a deal's
    re-send of a batch it gave up on, are the same request byte for byte (same body, same key)."""
    return {"batch_id": batch_id, "kind": kind, "key": batch_key(kind, [attempt_key(i) for i in items]),
            "items": [i.model_dump(mode="json") for i in items]}
