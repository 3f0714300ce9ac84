"""The ``webhook_batch`` orchestrator: starts ``deal_sync`` per deal of one HubSpot delivery, off the request path."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.start_rounds import start_in_rounds
from shared import names
from shared.application.messages import DealSyncStarts
from shared.sync.identity import generation_of, transaction_id


def webhook_batch(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    """Start every accepted deal's sync; the output says, per transaction, whether it was started, found
    (``duplicates``: already invoiced, running past its read of the deal, or with a person), or started
    only after waiting for a run that was still finishing (``waited_for`` names the runs waited for)."""
    batch = DealSyncStarts.model_validate(ctx.get_input() or {})
    done = yield from start_in_rounds(ctx, names.START_DEAL_SYNCS, batch, batch.policy.deadline_minutes,
                                      lambda waiting: batch.model_copy(update={"deal_ids": waiting}), "deal syncs")
    # Rounds answer in the order deals stopped waiting; the output follows the delivery's order instead.
    return {"accepted": [transaction_id(d) for d in batch.deal_ids],
            "started": _in_order_of(batch.deal_ids, done.started),
            "duplicates": _in_order_of(batch.deal_ids, done.duplicates), "waited_for": done.waited_for}


def _in_order_of(deal_ids: list[str], tx_ids: list[str]) -> list[str]:
    """``tx_ids`` sorted by the place of their deal in ``deal_ids``."""
    def place(tx_id: str) -> int:
        return next((i for i, d in enumerate(deal_ids) if generation_of(d, tx_id) is not None), len(deal_ids))
    return sorted(tx_ids, key=place)
