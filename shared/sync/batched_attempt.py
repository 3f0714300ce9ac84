"""A batched step's attempt: queue the deal's own payload for its organisation's batch and wait for its reply.

It stands in for ``single_attempt`` (``shared.saga.retry``) and answers in the same normalised shape, so
retries, undos, the deadline, a person's retry or compensate and the stranded handover work unchanged.
Runs inside the deal's orchestrator: everything is a durable task (entity calls, an activity, an external
event raced against a durable timer), and time comes only from ``ctx.current_utc_datetime``.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import timedelta
from typing import Any

from shared.saga.retry import Attempt, single_attempt
from shared.sync import batching, queued_status
from shared.sync.batch_resend import resend
from shared.sync.identity import idempotency_key

JsonDict = dict[str, Any]


def batched(kind: batching.Kind, org: str, wait_seconds: float, step: str = "",
            gather: batching.Gather = batching.AT_ONCE) -> Attempt:
    """The attempt of ``step`` (default: named as its kind) through the queue of kind ``kind`` of ``org``.

    Its item key and event are named after the step, not the kind: steps of one kind (claim, write-back and
    their undos) follow each other in one deal and must never answer each other's waits."""
    label = step or kind

    def run(ctx: Any, activity: str, payload: Any, envelope: bool, attempt: int) -> Generator[Any, Any, JsonDict]:
        queue = batching.queue_key(org, kind)
        # Any retry may follow an attempt whose batch created the record under the batch's key: look first.
        item = batching.QueueItem(key=idempotency_key(payload["tx_id"], label, payload["round"]),
                                  instance=ctx.instance_id, event=batching.step_event(label, payload["round"], attempt),
                                  attempt=attempt, payload=payload, may_exist=attempt > 1)
        now = ctx.current_utc_datetime
        answer = yield ctx.call_entity(batching.QUEUE_ENTITY, queue, "enqueue", {
            "item": item.model_dump(mode="json"), "now": now.isoformat(), "lease_seconds": wait_seconds,
            "solo_ok": gather.solo, "gather": not gather.solo})
        if answer.get("resend"):
            # An earlier attempt gave up on a batch that may still make its call: only its request is safe.
            return (yield from resend(ctx, kind, queue, item.key, answer["resend"]))
        if answer.get("solo"):
            # Nothing queued and no flusher: a lone deal goes at once, as fast as an unbatched one.
            reply = yield from single_attempt(ctx, activity, _alone(payload, item.may_exist), envelope)
            ctx.signal_entity(batching.QUEUE_ENTITY, queue, "solo_done",
                              {"now": ctx.current_utc_datetime.isoformat()})
            return reply
        if answer.get("wake"):
            yield from _wake(ctx, {"org": org, "kind": kind, "epoch": int(answer["wake"]),
                                   "lease_seconds": wait_seconds,
                                   # The gather must end well inside this deal's wait for its reply.
                                   "gather_seconds": min(gather.seconds, wait_seconds / 4),
                                   "gather_max_seconds": min(gather.max_seconds, wait_seconds / 3)})
        # "queued for batch" while it waits: the host stores the custom status when this episode ends.
        ctx.set_custom_status(queued_status.queued(ctx.custom_status, kind, now.isoformat(), attempt))
        delivered = ctx.wait_for_external_event(item.event)
        timer = ctx.create_timer(now + timedelta(seconds=wait_seconds))
        winner = yield ctx.task_any([delivered, timer])
        ctx.set_custom_status(queued_status.unqueued(ctx.custom_status))
        if winner is delivered:
            timer.cancel()
            return _decoded(delivered.result)
        # Waited too long: take the item back. Never sent, it goes alone as it is. Taken by a batch that has
        # not answered, that batch may still make its call: send its very request again (same body, same
        # key), never a create of our own. Only a batch the queue no longer knows leaves the lookup first.
        withdrawn = yield ctx.call_entity(batching.QUEUE_ENTITY, queue, "withdraw", {"key": item.key})
        if withdrawn.get("resend"):
            return (yield from resend(ctx, kind, queue, item.key, withdrawn["resend"]))
        may_exist = item.may_exist or not withdrawn.get("withdrawn")
        return (yield from single_attempt(ctx, activity, _alone(payload, may_exist), envelope))

    return run


def _decoded(data: Any) -> JsonDict:
    # The SDK's client encodes event data as a JSON string inside the JSON body: the wait hands back the string.
    value = json.loads(data) if isinstance(data, str) else data
    if not isinstance(value, dict) or "ok" not in value:
        return {"ok": False, "error": {"kind": "transient", "service": "sync", "code": "batch_reply_unreadable",
                                       "message": "the batch's reply could not be read"}}
    return value


def _alone(payload: JsonDict, may_exist: bool) -> JsonDict:
    return {**payload, "may_exist": True} if may_exist else payload


def _wake(ctx: Any, request: JsonDict) -> Generator[Any, Any]:
    # Starting another orchestration is I/O: an activity with a durable client does it. If it fails, this
    # deal's wait runs out and it goes alone; the entity's lease lets the next enqueue wake one again.
    try:
        yield ctx.call_activity(batching.WAKE_FLUSHER, request)
    except Exception:  # the SDK surfaces every activity failure as a bare Exception
        return
