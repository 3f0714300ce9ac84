"""Starting the runs a webhook delivery asked for, in rounds: retried starts, and waits for runs still finishing.

Shared by ``webhook_batch`` (deal syncs) and ``life_event_batch`` (life events): the webhook was answered
already, so the start activity is retried for about 45 minutes, and a deal whose earlier run is still
finishing is tried again, alone, until that run has ended.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from shared.application.messages import StartReport
from shared.sync.policy import START_RETRY, wait_policy


class WebhookBatchFailed(RuntimeError):
    """The runs of a delivery could not all be started: the instance ends Failed, not Completed, so that a
    redelivery of the same events starts it again (a completed one counts as handled)."""


@dataclass
class Started:
    started: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    waited_for: list[str] = field(default_factory=list)


def start_in_rounds(ctx: Orchestration, activity: str, batch: BaseModel, deadline_minutes: int,
                    only: Callable[[list[str]], BaseModel], what: str) -> Generator[Any, Any, Started]:
    """Run ``activity`` on ``batch``, then on ``only(deal ids still waiting)`` after a durable timer, until
    none waits; ``what`` names the runs in the failure message."""
    done, todo, attempt = Started(), batch, 0
    waits = wait_policy(deadline_minutes)
    while True:
        ok, raw = yield from call_with_retry(ctx, activity, todo.model_dump(mode="json"), START_RETRY)
        if not ok:
            raise WebhookBatchFailed(f"{what} of {ctx.instance_id} not started: {raw}")
        report = StartReport.model_validate(raw)
        done.started += report.started
        done.duplicates += report.duplicates
        if not report.waiting:
            return done
        done.waited_for += [tx for tx in report.waiting.values() if tx not in done.waited_for]
        attempt += 1
        if waits.gives_up_after(attempt):
            raise WebhookBatchFailed(f"{ctx.instance_id}: still waiting for {sorted(report.waiting.values())} "
                                     "to finish; the scheduled batch picks these deals up")
        # Only the deals still waiting are tried again: the others are started or found already.
        yield ctx.create_timer(ctx.current_utc_datetime + timedelta(seconds=waits.delay(attempt)))
        todo = only(list(report.waiting))
