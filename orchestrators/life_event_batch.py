"""The ``life_event_batch`` orchestrator: starts one delivery's life events (``deal_change``), off the request path.

As ``webhook_batch`` does for wins: the webhook was answered already, so starts are retried for about 45
minutes, and a deal whose sync or earlier life event is still running is tried again until that has ended.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.start_rounds import start_in_rounds
from shared import names
from shared.application.messages import LifeEventStarts


def life_event_batch(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    """Start each deal's life event once nothing else of the deal runs; the output names what was started,
    found covered (``duplicates``) and waited for."""
    batch = LifeEventStarts.model_validate(ctx.get_input() or {})
    done = yield from start_in_rounds(
        ctx, names.START_LIFE_EVENTS, batch, batch.policy.deadline_minutes,
        lambda waiting: batch.model_copy(update={"events": {d: batch.events[d] for d in waiting}}), "life events")
    return {"events": dict(batch.events), "started": done.started, "duplicates": done.duplicates,
            "waited_for": done.waited_for}
