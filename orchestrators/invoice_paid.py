"""The ``invoice_paid`` orchestrator: one paid-invoice event, written back to its deal with retries."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestrators.context import Orchestration
from shared import names
from shared.saga.engine import Saga, Step, run_saga
from shared.saga.outcome import SagaState
from shared.saga.policy import RetryPolicy


def invoice_paid(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    request = ctx.get_input() or {}
    # A one-step saga: the engine brings Retry-After-aware retries; there is nothing to undo.
    saga = Saga(steps=(Step("mark_paid", names.MARK_DEAL_PAID, lambda st: {"invoice_id": st.input["invoice_id"]}),),
                retry=RetryPolicy(max_attempts=8, first_interval=5, max_interval=600))
    outcome = yield from run_saga(ctx, saga, SagaState(input={"invoice_id": str(request.get("invoice_id", ""))}))
    result = outcome.state.results.get("mark_paid") or {}
    return {"status": outcome.status, **result, **({"reason": outcome.reason.message} if outcome.reason else {})}
