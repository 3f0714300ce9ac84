"""Issue 5, crashes: the host loses an activity's result after its side effect (devhost ``crash_after``).

Durable Functions then runs the activity again. Every step and every undo must be safe to re-run:
no second contact or invoice, and the same end state as without the crash.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import (
    assert_hubspot_put_back,
    contacts,
    deal_props,
    hubspot_data,
    invoices,
    ledger_row,
    xero_data,
    xero_live,
)
from tests.support.crm_data import create_won_deal

DEALS = "/crm/objects/2026-09/deals/"


stack_host = module_host(FAST_APP_LIMITS)


def _crash_after(stack: Stack, activity: str, skip: int) -> int:
    before = stack.client.stats()["activity_results_discarded"]
    stack.client.add_fault(activity, "crash_after", times=1, skip=skip)
    return int(before)


def _crashed_once(stack: Stack, discarded_before: int) -> None:
    assert [f["fired"] for f in stack.client.faults()] == [1]
    assert stack.client.stats()["activity_results_discarded"] == discarded_before + 1


# (activity, executions of it to let through first): every activity of the forward path.
FORWARD = [("load_deal", 0), ("write_deal_markers", 0), ("ensure_customer", 0), ("create_invoice", 0),
           ("write_deal_markers", 1), ("record_transaction", 0), ("record_transaction", 1)]
FORWARD_IDS = ["load", "claim", "customer", "invoice", "write_back", "ledger-running", "ledger-completed"]


@pytest.mark.e2e
@pytest.mark.parametrize(("activity", "skip"), FORWARD, ids=FORWARD_IDS)
def test_a_crash_after_any_forward_activity_still_gives_exactly_one_contact_and_one_invoice(
    fast_stack: Stack, activity: str, skip: int,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    discarded = _crash_after(stack, activity, skip)

    status = stack.run_deal(deal.deal_id)

    _crashed_once(stack, discarded)
    assert status["output"]["status"] == "completed", status["output"]
    # The same end state as the crash-free run (tests/e2e/test_deal_sync_e2e.py).
    [invoice] = invoices(stack)
    [contact] = contacts(stack)
    assert (invoice["Status"], contact["ContactStatus"]) == ("AUTHORISED", "ACTIVE")
    assert invoice["Contact"]["ContactID"] == contact["ContactID"]
    assert Decimal(str(invoice["SubTotal"])) == deal.total
    props = deal_props(stack, deal.deal_id)
    assert (props["invoice_sync_status"], props["xero_invoice_id"], props["invoice_sync_transaction_id"]) == (
        "synced", invoice["InvoiceID"], f"deal-{deal.deal_id}")
    row = ledger_row(stack, deal.deal_id)
    assert row["status"] == "completed" and row["invoice_id"] == invoice["InvoiceID"]
    assert [(s["name"], s["status"]) for s in row["steps"]] == [
        ("load", "succeeded"), ("claim", "succeeded"), ("customer", "succeeded"), ("invoice", "succeeded"),
        ("write_back", "succeeded")]


# The write-back is refused for good, so every undo runs: write_deal_markers executions are
# claim (1), write_back (2), its undo (3), the claim's undo (4).
COMPENSATION = [("write_deal_markers", 2), ("undo_invoice_if_present", 0), ("archive_customer_if_created", 0),
                ("write_deal_markers", 3)]
COMPENSATION_IDS = ["undo-write_back", "undo-invoice", "undo-customer", "undo-claim"]


@pytest.mark.e2e
@pytest.mark.parametrize(("activity", "skip"), COMPENSATION, ids=COMPENSATION_IDS)
def test_a_crash_after_any_undo_still_puts_both_systems_back_exactly_once(
    fast_stack: Stack, activity: str, skip: int,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    hubspot_before, xero_before = hubspot_data(stack), xero_data(stack)
    stack.sims.hubspot.add_fault(DEALS + "*", 400, method="PATCH", times=1, skip=1, body={
        "status": "error", "message": "Property values were not valid", "category": "VALIDATION_ERROR"})
    discarded = _crash_after(stack, activity, skip)

    status = stack.run_deal(deal.deal_id)

    _crashed_once(stack, discarded)
    assert status["output"]["status"] == "compensated", status["output"]
    assert ledger_row(stack, deal.deal_id)["status"] == "compensated"
    [invoice] = invoices(stack)
    [contact] = contacts(stack)
    assert (invoice["Status"], contact["ContactStatus"]) == ("VOIDED", "ARCHIVED")
    assert_hubspot_put_back(stack, hubspot_before, deal.deal_id, "write_back")
    assert xero_live(stack, xero_before) == xero_before
