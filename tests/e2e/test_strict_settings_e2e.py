"""Issue 13, the strict settings: a name collision and an out-of-range close date are refused, clearly, not guessed.

devhost runs the unmodified app with ``CUSTOMER_NAME_COLLISION=reject`` and ``INVOICE_DATE_OUT_OF_RANGE=reject``.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import contacts, deal_props, invoices, ledger_row
from tests.support.crm_data import create_won_deal

STRICT = {"CUSTOMER_NAME_COLLISION": "reject", "INVOICE_DATE_OUT_OF_RANGE": "reject",
          "INVOICE_DATE_MAX_AGE_DAYS": "90", "INVOICE_DATE_MAX_AHEAD_DAYS": "0"}


stack_host = module_host({**FAST_APP_LIMITS, **STRICT})


@pytest.mark.e2e
def test_a_second_company_of_the_same_name_is_refused_and_rolled_back_naming_the_clash(fast_stack: Stack) -> None:
    stack = fast_stack
    first = create_won_deal(stack.sims.hubspot_url, company="Initech")
    second = create_won_deal(stack.sims.hubspot_url, company="Initech")
    assert stack.run_deal(first.deal_id)["output"]["status"] == "completed"
    outcome = stack.run_deal(second.deal_id)["output"]
    assert (outcome["status"], outcome["failed_step"]) == ("compensated", "customer"), outcome
    assert outcome["reason"]["code"] == "customer_name_taken", outcome["reason"]
    assert "Initech" in outcome["reason"]["message"] and second.company_id in outcome["reason"]["message"]
    # Nothing of the second deal went to the first company's contact.
    assert [i["Reference"] for i in invoices(stack)] == [f"Deal {first.deal_id}"]
    assert [c["ContactNumber"] for c in contacts(stack)] == [first.company_id]
    assert ledger_row(stack, second.deal_id)["status"] == "compensated"


@pytest.mark.e2e
def test_a_close_date_seven_years_back_is_refused_before_anything_is_written(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url, company="Old Close", close_date="2019-03-01")
    outcome = stack.run_deal(deal.deal_id)["output"]
    assert (outcome["status"], outcome["failed_step"]) == ("compensated", "load"), outcome
    assert outcome["reason"]["code"] == "invoice_date_out_of_range", outcome["reason"]
    assert "2019-03-01" in outcome["reason"]["message"]
    assert invoices(stack) == [] and contacts(stack) == []
    assert deal_props(stack, deal.deal_id).get("invoice_sync_status") in (None, "")
