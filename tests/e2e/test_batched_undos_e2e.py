"""Batched Xero undos (BATCHED_STEPS): many deals' invoices voided, and customers archived, a Xero call.

Twenty deals are refused at the write-back by a portal rule of HubSpot, so every one rolls back; the flushers'
starts are held back (a devhost delay on their wake) so that the rolled-back deals fill batches, as a burst
does by itself in production. One deal's invoice is paid in between: it alone needs a person.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.batched_helpers import start_batched, won_deals
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import ROLLBACK_NOTE, deal_props, ledger_row, wait_custom_status, wait_for
from tests.support.crm_data import WonDeal

stack_host = module_host(FAST_APP_LIMITS)
# The portal's admin made "Deal type" required on every synced deal: each write-back is refused.
RULE = {"objectType": "deals", "property": "dealtype", "when": {"invoice_sync_status": "synced"}}


def _deals(stack: Stack, n: int) -> list[WonDeal]:
    return won_deals(stack, n, "Undone Co", 20)


def _start(stack: Stack, deals: list[WonDeal]) -> None:
    start_batched(stack, deals, "e2eu")


def _undo_calls(stack: Stack) -> dict[str, list[int]]:
    """The Xero writes of the undos: each collection POST's element count, and each single-record POST as 1."""
    calls: dict[str, list[int]] = {"void": [], "void_single": [], "archive": [], "archive_single": []}
    for r in stack.sims.xero.requests():
        if r["method"] != "POST" or r["fault"]:
            continue
        path = r["path"].split("?")[0]
        body = r.get("body") or {}
        if path.endswith("/Invoices") and any(e.get("Status") in ("VOIDED", "DELETED") for e in body["Invoices"]):
            calls["void"].append(len(body["Invoices"]))
        elif "/Invoices/" in path:
            calls["void_single"].append(1)
        elif path.endswith("/Contacts") and any(e.get("ContactStatus") == "ARCHIVED" for e in body["Contacts"]):
            calls["archive"].append(len(body["Contacts"]))
        elif "/Contacts/" in path:
            calls["archive_single"].append(1)
    return calls


@pytest.mark.e2e
def test_twenty_deals_rolled_back_are_voided_and_archived_in_batches_and_a_paid_one_alone_needs_a_person(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deals = _deals(stack, 20)
    stack.sims.hubspot.config(validation_rules=[RULE])
    stack.client.add_fault("wake_batch_flusher", "delay", times=-1, delay_ms=2500)
    stack.sims.xero.clear_requests()
    _start(stack, deals)

    def all_invoiced() -> list[dict[str, Any]]:
        made = list(stack.sims.xero.state()["invoices"])  # a lone deal's may be voided already
        return made if len(made) == len(deals) else []

    # The last invoice made came from a batch (a lone deal goes first): its write-back waits for a flusher's
    # start, and its void for another, seconds in which the customer pays it.
    paid = max(wait_for("every deal invoiced", all_invoiced, timeout=90, interval=0.05),
               key=lambda i: i["InvoiceNumber"])
    stack.sims.xero.pay_invoice(paid["InvoiceID"])
    paid_deal = next(d for d in deals if paid["Reference"] == f"Deal {d.deal_id}")
    others = [d for d in deals if d is not paid_deal]

    outcomes = {d.deal_id: stack.client.wait(f"deal-{d.deal_id}", timeout=180) for d in others}
    assert {o["output"]["status"] for o in outcomes.values()} == {"compensated"}, outcomes
    assert {o["output"]["failed_step"] for o in outcomes.values()} == {"write_back"}
    for d in others:
        note = deal_props(stack, d.deal_id).get(ROLLBACK_NOTE, "")
        assert note.startswith("Not invoiced, rolled back at write_back: ") and "dealtype" in note, note

    tx = f"deal-{paid_deal.deal_id}"
    wait_custom_status(stack, tx, "needs_attention", timeout=90)
    row = wait_for("ledger needs_attention",
                   lambda: (r := ledger_row(stack, paid_deal.deal_id))["status"] == "needs_attention" and r)
    failed = {c["step"]: c["error"]["message"] for c in row["compensations"] if c["status"] == "failed"}
    assert sorted(failed) == ["customer", "invoice"], failed
    assert "a person must issue a credit note" in failed["invoice"], failed
    assert "is still PAID" in failed["customer"], failed

    state = stack.sims.xero.state()
    statuses = {i["Reference"]: i["Status"] for i in state["invoices"]}
    assert statuses == {f"Deal {d.deal_id}": "PAID" if d is paid_deal else "VOIDED" for d in deals}
    contacts = {c["ContactNumber"]: c.get("ContactStatus") for c in state["contacts"]}
    assert contacts == {d.company_id: "ACTIVE" if d is paid_deal else "ARCHIVED" for d in deals}

    calls = _undo_calls(stack)
    # The bulk of the rollbacks went in one void and one archive POST, the paid invoice left out (its status
    # read first). Deals that found the queue idle make their own calls, and one may come after the batch
    # left: how many depends on timing (a loaded CI machine saw two POSTs of each, one of them with one
    # element, and three single calls), so the bounds are loose; deal by deal it would be 19 of each.
    assert 1 <= len(calls["void"]) <= 3 and 1 <= len(calls["archive"]) <= 3, calls
    assert max(calls["void"]) >= len(others) // 2 and max(calls["archive"]) >= len(others) // 2, calls
    assert sum(calls["void"]) + len(calls["void_single"]) == len(others), calls
    assert sum(calls["archive"]) + len(calls["archive_single"]) == len(others), calls
    assert len(calls["void_single"]) <= 4 and len(calls["archive_single"]) <= 4, calls
