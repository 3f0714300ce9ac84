"""The ``webhook_batch`` orchestrator: starts ``deal_sync`` per deal of one HubSpot delivery, off the request path."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from shared import names
from shared.api.starter import DealSyncStarts, StartReport
from shared.saga.policy import RetryPolicy
from shared.sync.identity import transaction_id

# The webhook was answered 200 already, so HubSpot will not deliver these events again: keep trying for
# about 45 minutes (2 s doubling to 5 min between attempts: the task hub unreachable, the host restarting).
START_RETRY = RetryPolicy(max_attempts=16, first_interval=2, max_interval=300)


class WebhookBatchFailed(RuntimeError):
    """The deal syncs of a delivery could not all be started: the instance ends Failed, not Completed."""


def webhook_batch(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    batch = DealSyncStarts.model_validate(ctx.get_input() or {})
    ok, raw = yield from call_with_retry(ctx, names.START_DEAL_SYNCS, batch.model_dump(mode="json"), START_RETRY)
    if not ok:
        # Failed rather than Completed, so a redelivery of the same events starts this batch again (a
        # completed one counts as handled); the scheduled batch also finds won deals with no transaction.
        raise WebhookBatchFailed(f"deal syncs of {ctx.instance_id} not started: {raw}")
    report = StartReport.model_validate(raw)
    return {"accepted": [transaction_id(d) for d in batch.deal_ids], **report.as_json()}
