"""The ``webhook_batch`` orchestrator: starts ``deal_sync`` per deal of one HubSpot delivery, off the request path."""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from shared import names
from shared.api.starter import DealSyncStarts, StartReport
from shared.saga.policy import RetryPolicy
from shared.sync.identity import generation_of, transaction_id

# The webhook was answered 200 already, so HubSpot will not deliver these events again: keep trying for
# about 45 minutes (2 s doubling to 5 min between attempts: the task hub unreachable, the host restarting).
START_RETRY = RetryPolicy(max_attempts=16, first_interval=2, max_interval=300)
# A win that met a transaction still finishing (it read the deal before the win) is tried again until that
# run has ended: at most about its deadline, after which it has ended or waits for a person.
WAIT_FIRST_SECONDS, WAIT_MAX_SECONDS = 2.0, 60.0


def wait_policy(deadline_minutes: int) -> RetryPolicy:
    """Checks every 2 s doubling to a minute, for the running transaction's deadline plus a margin."""
    attempts = 8 + (deadline_minutes * 60 + 600) // int(WAIT_MAX_SECONDS)
    return RetryPolicy(max_attempts=attempts, first_interval=WAIT_FIRST_SECONDS, max_interval=WAIT_MAX_SECONDS)


class WebhookBatchFailed(RuntimeError):
    """The deal syncs of a delivery could not all be started: the instance ends Failed, not Completed."""


def webhook_batch(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    """Start every accepted deal's sync; the output says, per transaction, whether it was started, found
    (``duplicates``: already invoiced, running past its read of the deal, or with a person), or started
    only after waiting for a run that was still finishing (``waited_for`` names the runs waited for)."""
    batch = DealSyncStarts.model_validate(ctx.get_input() or {})
    started: list[str] = []
    duplicates: list[str] = []
    waited_for: list[str] = []
    waits = wait_policy(batch.policy.deadline_minutes)
    todo, attempt = batch, 0
    while True:
        ok, raw = yield from call_with_retry(ctx, names.START_DEAL_SYNCS, todo.model_dump(mode="json"), START_RETRY)
        if not ok:
            # Failed rather than Completed, so a redelivery of the same events starts this batch again (a
            # completed one counts as handled); the scheduled batch also finds won deals with no transaction.
            raise WebhookBatchFailed(f"deal syncs of {ctx.instance_id} not started: {raw}")
        report = StartReport.model_validate(raw)
        started += report.started
        duplicates += report.duplicates
        if not report.waiting:
            break
        waited_for += [tx for tx in report.waiting.values() if tx not in waited_for]
        attempt += 1
        if waits.gives_up_after(attempt):
            raise WebhookBatchFailed(f"{ctx.instance_id}: still waiting for {sorted(report.waiting.values())} "
                                     "to finish; the scheduled batch picks these deals up")
        # Only the deals still waiting are tried again: the others are started or found already.
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=waits.delay(attempt)))
        todo = batch.model_copy(update={"deal_ids": list(report.waiting)})
    # Rounds answer in the order deals stopped waiting; the output follows the delivery's order instead.
    return {"accepted": [transaction_id(d) for d in batch.deal_ids],
            "started": _in_order_of(batch.deal_ids, started), "duplicates": _in_order_of(batch.deal_ids, duplicates),
            "waited_for": waited_for}


def _in_order_of(deal_ids: list[str], tx_ids: list[str]) -> list[str]:
    """``tx_ids`` sorted by the place of their deal in ``deal_ids``."""
    def place(tx_id: str) -> int:
        return next((i for i, d in enumerate(deal_ids) if generation_of(d, tx_id) is not None), len(deal_ids))
    return sorted(tx_ids, key=place)
