"""Issue 13: a deal rolled back only because a service stayed unreachable is retried by the schedule, by itself.

devhost with Azurite and the simulators, the real clock and short step retries: Xero answering 503 to every
invoice creation exhausts them in a moment and the saga rolls back with a transient reason. The next
scheduled run (invoked as the timer would) starts the deal's next generation, at most ``AUTO_RETRY_MAX``
times in a row; a rollback for the deal's own data is never retried by itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared import names
from shared.sync.cursor import CURSOR_KEY
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import XERO_API, invoices, start_deal, wait_for
from tests.support.crm_data import create_won_deal

AUTO_RETRY_MAX = 2
STEPS = {"STEP_MAX_ATTEMPTS": "2", "STEP_RETRY_FIRST_SECONDS": "0.2", "STEP_RETRY_MAX_SECONDS": "1"}
POLICY = {"step_max_attempts": 2, "step_retry_first_seconds": 0.2, "step_retry_max_seconds": 1}


# The real clock: the schedule compares a rollback's time with its own. Short step retries keep it quick.
stack_host = module_host({**FAST_APP_LIMITS, "AUTO_RETRY_AFTER_MINUTES": "0",
                          "AUTO_RETRY_MAX": str(AUTO_RETRY_MAX), **STEPS}, clock=None)


def ended(stack: Stack, tx: str) -> dict[str, Any]:
    status = stack.client.wait(tx, timeout=60)
    assert status["runtimeStatus"] == "Completed", status
    output: dict[str, Any] = status["output"]
    return output


def entity(stack: Stack, tx: str) -> dict[str, Any]:
    def read() -> dict[str, Any] | None:
        exists, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
        return state if exists and state.get("status") not in ("pending", "running", "compensating") else None

    found: dict[str, Any] = wait_for(f"{tx} to end in its entity", read, timeout=30)
    return found


def schedule(stack: Stack) -> None:
    """What the timer runs; the batch's cursor is moved to now first, so that only the retry can start a deal."""
    stack.client.signal_entity(names.SYNC_CURSOR, CURSOR_KEY, "set", {"since": datetime.now(UTC).isoformat(),
                                                                       "at": datetime.now(UTC).isoformat()})
    assert stack.client.invoke_function(names.SCHEDULED_SYNC) == 202


def generation_started(stack: Stack, tx: str) -> bool:
    return stack.client.status(tx) is not None


@pytest.mark.e2e
def test_a_deal_rolled_back_because_xero_stayed_unreachable_is_invoiced_by_the_next_schedule_once_xero_is_back(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Unreachable Co")
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", 503, method="PUT", times=-1)
    tx = start_deal(stack, deal.deal_id, **POLICY)
    assert ended(stack, tx)["status"] == "compensated"
    reason = entity(stack, tx)["reason"]
    assert reason["kind"] == "transient", reason  # nothing wrong with the deal: Xero was away

    stack.sims.xero.clear_faults()
    schedule(stack)
    retried = f"{tx}-g2"
    wait_for("the next generation", lambda: generation_started(stack, retried), timeout=30)
    assert ended(stack, retried)["status"] == "completed"
    assert entity(stack, retried)["trigger"] == "auto_retry"
    assert [i["Reference"] for i in invoices(stack)] == [f"Deal {deal.deal_id}"]



@pytest.mark.e2e
def test_a_service_that_stays_down_is_retried_auto_retry_max_times_and_a_data_rollback_never(
    fresh_stack: Stack,
) -> None:
    stack = fresh_stack
    bad = create_won_deal(stack.sims.hubspot_url, company="Bad Data Co", lines=[("Fleet", "1", "20000000.00")])
    down = create_won_deal(stack.sims.hubspot_url, company="Still Down Co")
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", 503, method="PUT", times=-1)
    bad_tx, down_tx = start_deal(stack, bad.deal_id, **POLICY), start_deal(stack, down.deal_id, **POLICY)
    assert ended(stack, bad_tx)["status"] == ended(stack, down_tx)["status"] == "compensated"
    assert entity(stack, bad_tx)["reason"]["kind"] == "rejected"  # over MAX_INVOICE_TOTAL: the deal's data
    for generation in range(2, AUTO_RETRY_MAX + 2):
        schedule(stack)
        retried = f"{down_tx}-g{generation}"
        wait_for(f"generation {generation}", lambda t=retried: generation_started(stack, t), timeout=30)
        assert ended(stack, retried)["status"] == "compensated"
        assert entity(stack, retried)["trigger"] == "auto_retry"

    # One more run, with a deal it must retry as the witness that the run went past both.
    witness = create_won_deal(stack.sims.hubspot_url, company="Witness Co")
    witness_tx = start_deal(stack, witness.deal_id, **POLICY)
    assert ended(stack, witness_tx)["status"] == "compensated"
    stack.sims.xero.clear_faults()
    schedule(stack)
    wait_for("the witness's retry", lambda: generation_started(stack, f"{witness_tx}-g2"), timeout=30)
    assert ended(stack, f"{witness_tx}-g2")["status"] == "completed"
    assert stack.client.status(f"{down_tx}-g{AUTO_RETRY_MAX + 2}") is None  # a person decides now
    assert stack.client.status(f"{bad_tx}-g2") is None  # fixing the data is for a person
    assert [i["Reference"] for i in invoices(stack)] == [f"Deal {witness.deal_id}"]
