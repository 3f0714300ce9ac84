"""The ``batch_flusher`` orchestrator: group commit for one organisation's batched step kind.

It takes what is queued (up to its kind's batch size: 50 Xero elements, 100 HubSpot records), runs one
batched activity, hands each deal its own reply, and takes again at once: a burst fills the next batch while
the current one runs. While a partial batch is still gathering (arrivals have not paused for
``gather_seconds``, and its oldest item has waited less than ``gather_max_seconds``), the queue says when to
come back and the flusher sleeps on a durable timer until then: a backfill's wave leaves as one full batch
instead of a trickle of small ones. (A deal alone never meets the gather: with nothing queued it goes
straight to its activity.) An empty take ends it (the next enqueue starts a new epoch); it continues as new
every few takes so that its history stays short. One flusher per
(organisation, kind), one batch at a time each: at most one batch write of each kind to one organisation at
a time (a limit shared across the kinds is not built yet: see docs/batched-steps.md).

Replay-safe: the batch id and key come from the instance id and from what ``take`` returned (recorded in
the history), time only from ``ctx.current_utc_datetime``.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from shared.domain.errors import TransientError
from shared.saga.policy import RetryPolicy
from shared.sync import batching
from shared.sync.batching import QueueItem

TAKES_PER_GENERATION = 40  # takes of a generation, those told to wait included
# An unexpected failure of the batch activity (a crash: the host re-runs it with the same body and key).
BATCH_RETRY = RetryPolicy(max_attempts=3, first_interval=2, max_interval=30, pace=False)
DELIVER_RETRY = RetryPolicy(max_attempts=5, first_interval=2, max_interval=30, pace=False)


class FlusherInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org: str
    kind: batching.Kind
    epoch: int
    batches: int = 0  # batches run by this flusher's earlier generations (continue-as-new)
    # The gather (seconds; 0: take at once), from the deal that woke it (its policy): see shared/sync/batch_queue.
    gather_seconds: float = Field(default=0, ge=0)
    gather_max_seconds: float = Field(default=0, ge=0)


def _failed(reason: str) -> dict[str, Any]:
    return TransientError(f"the batch did not answer: {reason[:300]}", service="sync",
                          code="batch_failed").to_dict()


def _run_one(ctx: Orchestration, flusher: FlusherInput, items: list[QueueItem]) -> Generator[Any, Any]:
    batch_id = f"{ctx.instance_id}-b{flusher.batches}"
    request = batching.batch_request(batch_id, flusher.kind, items)
    key = request["key"]
    started = ctx.current_utc_datetime
    ok, reply = yield from call_with_retry(ctx, batching.RUN_BATCH, request, BATCH_RETRY)
    results: dict[str, Any] = reply["results"] if ok else {}
    error = (reply.get("error") if ok else None) or (None if ok else _failed(str(reply)))
    deliveries = [{"instance": i.instance, "event": i.event,
                   "data": results.get(i.key) or {"ok": False, "error": error or _failed("no reply for the item")}}
                  for i in items]
    ended = ctx.current_utc_datetime  # both times from the history: a replay builds the same row
    row = {"batch_id": batch_id, "key": key, "kind": flusher.kind, "org": flusher.org, "size": len(items),
           "items": [i.key for i in items], "calls": reply.get("calls", 0) if ok else 0,
           "ok": reply.get("ok", 0) if ok else 0, "rejected": reply.get("rejected", 0) if ok else 0,
           "error": error, "seconds": (ended - started).total_seconds(), "started": started.isoformat(),
           "ended": ended.isoformat(), "call_seconds": reply.get("seconds", 0.0) if ok else 0.0}
    yield from call_with_retry(ctx, batching.DELIVER_BATCH, {"deliveries": deliveries, "row": row}, DELIVER_RETRY)
    ctx.signal_entity(batching.QUEUE_ENTITY, batching.queue_key(flusher.org, flusher.kind), "done",
                      {"batch": batch_id})


def batch_flusher(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    flusher = FlusherInput.model_validate(ctx.get_input())
    queue = batching.queue_key(flusher.org, flusher.kind)
    for _ in range(TAKES_PER_GENERATION):
        taken = yield ctx.call_entity(batching.QUEUE_ENTITY, queue, "take", {
            "max": batching.MAX_ITEMS[flusher.kind], "batch": f"{ctx.instance_id}-b{flusher.batches}",
            "epoch": flusher.epoch, "now": ctx.current_utc_datetime.isoformat(),
            "quiet_seconds": flusher.gather_seconds, "max_wait_seconds": flusher.gather_max_seconds})
        if taken.get("wait_until"):
            # Still gathering: the entity's time came from this history, so a replay sleeps the same.
            yield ctx.create_timer(datetime.fromisoformat(taken["wait_until"]))
            continue
        if not taken["items"]:
            return {"batches": flusher.batches, "ended": "stale" if taken.get("stale") else "idle"}
        yield from _run_one(ctx, flusher, [QueueItem.model_validate(i) for i in taken["items"]])
        flusher = flusher.model_copy(update={"batches": flusher.batches + 1})
    ctx.continue_as_new(flusher.model_dump(mode="json"))
    return {"batches": flusher.batches, "ended": "continued"}
