"""A deal's re-send of a batch it gave up on: the same request again, and its own element from the answer.

A batch that took a deal's item and did not answer within the deal's wait may still make its call (a slow
worker, a host whose work item runs again minutes later). Creating the record another way would make it
twice; sending the very same request (same body, same ``Idempotency-Key``) cannot: Xero either replays the
answer of the call already made or makes the batch now, and a late run of the old activity replays that.
Runs inside the deal's orchestrator: the request is rebuilt from the items the queue recorded, in their
order, by the flusher's own function, so it is replay-safe and byte-identical.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from shared.saga.envelope import decode_failure
from shared.sync import batching

JsonDict = dict[str, Any]


def resend(ctx: Any, kind: str, queue: str, key: str, batch: JsonDict) -> Generator[Any, Any, JsonDict]:
    """Send batch ``batch`` (its id and items, as the queue recorded them) again; the reply for item ``key``."""
    items = [batching.QueueItem.model_validate(i) for i in batch["items"]]
    try:
        reply = yield ctx.call_activity(batching.RUN_BATCH, batching.batch_request(batch["batch"], kind, items))
    except Exception as exc:  # the SDK surfaces every activity failure as a bare Exception
        # Nothing known of Xero's answer: the queue keeps this item to its batch, the next attempt re-sends.
        text = str(exc)
        return {"ok": False, "error": decode_failure(text), "text": text.split(" \n ", 1)[0][:500]}
    mine = (reply.get("results") or {}).get(key)
    if mine is None:
        # The batch stopped before answering this element (a 429, say): still unanswered, re-sent next time.
        return {"ok": False, "error": reply.get("error") or _unanswered()}
    # Xero answered it under the batch's key: from now on any run of that batch replays this answer.
    ctx.signal_entity(batching.QUEUE_ENTITY, queue, "settled", {"key": key})
    return dict(mine)


def _unanswered() -> JsonDict:
    return {"kind": "transient", "service": "sync", "code": "batch_element_missing",
            "message": "the re-sent batch did not answer this element"}
