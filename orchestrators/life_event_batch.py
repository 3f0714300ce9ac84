"""The ``life_event_batch`` orchestrator: starts one delivery's life events (``deal_change``), off the request path.

As ``webhook_batch`` does for wins: the webhook was answered already, so starts are retried for about 45
minutes, and a deal whose sync or earlier life event is still running is tried again until that has ended.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from orchestrators.webhook_batch import START_RETRY, WebhookBatchFailed, wait_policy
from shared import names
from shared.api.life_event_starts import LifeEventStarts
from shared.api.starter import StartReport


def life_event_batch(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    """Start each deal's life event once nothing else of the deal runs; the output names what was started,
    found covered (``duplicates``) and waited for."""
    batch = LifeEventStarts.model_validate(ctx.get_input() or {})
    started: list[str] = []
    duplicates: list[str] = []
    waited_for: list[str] = []
    waits = wait_policy(batch.policy.deadline_minutes)
    todo, attempt = batch, 0
    while True:
        ok, raw = yield from call_with_retry(ctx, names.START_LIFE_EVENTS, todo.model_dump(mode="json"), START_RETRY)
        if not ok:
            # Failed, not Completed: a redelivery of the same events starts this batch again.
            raise WebhookBatchFailed(f"life events of {ctx.instance_id} not started: {raw}")
        report = StartReport.model_validate(raw)
        started += report.started
        duplicates += report.duplicates
        if not report.waiting:
            break
        waited_for += [tx for tx in report.waiting.values() if tx not in waited_for]
        attempt += 1
        if waits.gives_up_after(attempt):
            raise WebhookBatchFailed(f"{ctx.instance_id}: still waiting for {sorted(report.waiting.values())}")
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=waits.delay(attempt)))
        todo = batch.model_copy(update={"events": {d: batch.events[d] for d in report.waiting}})
    return {"events": dict(batch.events), "started": started, "duplicates": duplicates, "waited_for": waited_for}
