"""Transient means transient: Xero's identity service failing for a while delays a deal, it does not roll it back.

The token endpoint answering 5xx (or not answering) and short bursts of 401s are the identity
service's trouble, not the deal's: the saga waits on durable timers within its deadline.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, POLICY, Stack, module_host
from tests.e2e.saga_helpers import XERO_API, contacts, invoices, ledger_row
from tests.support.crm_data import create_won_deal

stack_host = module_host(FAST_APP_LIMITS)


@pytest.mark.e2e
def test_token_endpoint_down_for_longer_than_the_step_attempts_delays_the_deal_and_it_is_invoiced_once(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    stack.sims.xero.expire_tokens()  # the app's cached token dies: its next call needs the token endpoint
    outage = POLICY["step_max_attempts"] * 2  # more failures than a step has attempts
    stack.sims.xero.add_fault("/connect/token", 500, method="POST", times=outage)

    status = stack.run_deal(deal.deal_id)

    assert status["output"]["status"] == "completed", status["output"]
    assert sum(1 for r in stack.sims.xero.requests() if r["fault"]) == outage
    [invoice] = invoices(stack)
    [contact] = contacts(stack)
    assert invoice["Contact"]["ContactID"] == contact["ContactID"] and invoice["Status"] == "AUTHORISED"
    row = ledger_row(stack, deal.deal_id)
    assert row["status"] == "completed" and row["compensations"] == []


@pytest.mark.e2e
def test_token_endpoint_timing_out_for_a_while_delays_the_deal_and_it_is_invoiced_once(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    stack.sims.xero.expire_tokens()
    stack.sims.xero.add_fault("/connect/token", method="POST", drop=True, times=POLICY["step_max_attempts"] + 2)

    status = stack.run_deal(deal.deal_id)

    assert status["output"]["status"] == "completed", status["output"]
    assert len(invoices(stack)) == 1


@pytest.mark.e2e
def test_a_short_burst_of_401s_after_a_fresh_token_is_retried_not_rolled_back(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    stack.sims.xero.add_fault(f"{XERO_API}/Contacts", 401, times=3)

    status = stack.run_deal(deal.deal_id)

    assert status["output"]["status"] == "completed", status["output"]
    assert len(invoices(stack)) == 1 and len(contacts(stack)) == 1
