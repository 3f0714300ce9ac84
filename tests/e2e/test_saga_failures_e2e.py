"""Issue 5, failures: a permanent failure at any step puts both systems back; transient ones are retried.

devhost runs the unmodified app with a real Azurite and the HubSpot and Xero simulators; failures are
the simulators' own fault rules on the exact request a step makes, so nothing of the app is mocked.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared import names
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import (
    XERO_API,
    assert_hubspot_put_back,
    contacts,
    deal_props,
    host_log_lines,
    hubspot_data,
    invoices,
    ledger_row,
    start_deal,
    wait_custom_status,
    wait_for,
    xero_data,
    xero_live,
)
from tests.support.crm_data import create_won_deal

DEALS = "/crm/objects/2026-09/deals/"
GRAPHQL = "/collector/graphql"  # the load step's one read (HUBSPOT_DEAL_READ=auto on a portal that has it)


stack_host = module_host(FAST_APP_LIMITS)


@dataclass(frozen=True)
class Permanent:
    """A permanent failure of one step: the fault rule and the API's own words the ledger must show."""

    step: str
    sim: str  # "hubspot" or "xero"
    path: str
    method: str
    status: int
    body: dict[str, Any]
    message: str
    skip: int = 0
    creates_contact: bool = False
    creates_invoice: bool = False


def _xero_validation(message: str) -> dict[str, Any]:
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": message}]}]}


def _hubspot_error(message: str, category: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "e2e", "category": category}


PERMANENT = [
    # The deal was deleted between the trigger and the sync: GraphQL answers it as null.
    Permanent("load", "hubspot", GRAPHQL, "POST", 200, {"data": {"CRM": {"deal": None}}}, "not found"),
    Permanent("claim", "hubspot", DEALS + "*", "PATCH", 400,
              _hubspot_error("Property values were not valid: invoice_sync_status is read-only", "VALIDATION_ERROR"),
              "Property values were not valid: invoice_sync_status is read-only"),
    Permanent("customer", "xero", f"{XERO_API}/Contacts", "PUT", 400,
              _xero_validation("The contact name Northwind Traders is already assigned to another contact."),
              "The contact name Northwind Traders is already assigned to another contact."),
    Permanent("invoice", "xero", f"{XERO_API}/Invoices", "PUT", 400,
              _xero_validation("Account code '200' is not a valid code for this document."),
              "Account code '200' is not a valid code for this document.", creates_contact=True),
    # The second PATCH of the deal is the write-back (the first is the claim).
    Permanent("write_back", "hubspot", DEALS + "*", "PATCH", 400,
              _hubspot_error("Property values were not valid: xero_invoice_url is not a valid URL",
                             "VALIDATION_ERROR"),
              "Property values were not valid: xero_invoice_url is not a valid URL",
              skip=1, creates_contact=True, creates_invoice=True),
]


@pytest.mark.e2e
@pytest.mark.parametrize("case", PERMANENT, ids=[c.step for c in PERMANENT])
def test_permanent_failure_at_any_step_puts_both_systems_back_and_ledger_says_compensated_with_the_apis_reason(
    fast_stack: Stack, case: Permanent,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    hubspot_before, xero_before = hubspot_data(stack), xero_data(stack)
    admin = stack.sims.hubspot if case.sim == "hubspot" else stack.sims.xero
    admin.add_fault(case.path, case.status, method=case.method, times=1, body=case.body, skip=case.skip)

    status = stack.run_deal(deal.deal_id)

    assert status["runtimeStatus"] == "Completed", status
    assert status["output"]["status"] == "compensated", status["output"]
    assert status["output"]["failed_step"] == case.step
    assert [r["fault"] for r in admin.requests() if r["method"] == case.method].count(True) == 1
    row = ledger_row(stack, deal.deal_id)
    assert (row["status"], row["failed_step"]) == ("compensated", case.step)
    assert case.message in row["error"], row["error"]
    assert row["error_service"] == case.sim
    # Every undo that was registered ran and succeeded.
    assert all(c["status"] == "done" for c in row["compensations"] if c["status"] != "running"), row
    # HubSpot: every object and property as before (the deal's markers included), and where something was
    # rolled back (the load writes nothing), one line saying why.
    if case.step == "load":
        assert hubspot_data(stack) == hubspot_before
    else:
        assert_hubspot_put_back(stack, hubspot_before, deal.deal_id, case.step)
    # Xero: as before, except what the API can only archive or void; those must be archived / voided.
    assert xero_live(stack, xero_before) == xero_before
    created = [c for c in contacts(stack) if c["ContactID"] not in xero_before["contacts"]]
    assert [c["ContactStatus"] for c in created] == (["ARCHIVED"] if case.creates_contact else [])
    assert [i["Status"] for i in invoices(stack)] == (["VOIDED"] if case.creates_invoice else [])


@dataclass(frozen=True)
class Transient:
    step: str
    sim: str
    path: str
    method: str
    status: int | None
    times: int
    headers: dict[str, str]
    drop: bool = False
    after: bool = False
    skip: int = 0


TRANSIENT = [
    Transient("load", "hubspot", GRAPHQL, "POST", 429, 2, {"Retry-After": "1"}),
    Transient("claim", "hubspot", DEALS + "*", "PATCH", 503, 2, {}),
    Transient("customer-dropped", "xero", f"{XERO_API}/Contacts", "PUT", None, 1, {}, drop=True),
    # The contact is created but the answer is lost: the retry must not create a second one.
    Transient("customer-lost-answer", "xero", f"{XERO_API}/Contacts", "PUT", 503, 2, {}, after=True),
    Transient("invoice-429", "xero", f"{XERO_API}/Invoices", "PUT", 429, 2, {"Retry-After": "1"}),
    # The invoice is created but the connection drops before the answer: Idempotency-Key replays it.
    Transient("invoice-lost-answer", "xero", f"{XERO_API}/Invoices", "PUT", None, 2, {}, drop=True, after=True),
    Transient("write_back", "hubspot", DEALS + "*", "PATCH", 503, 2, {"Retry-After": "1"}, skip=1),
]


@pytest.mark.e2e
@pytest.mark.parametrize("case", TRANSIENT, ids=[c.step for c in TRANSIENT])
def test_transient_failures_at_any_step_are_retried_and_the_deal_gets_exactly_one_invoice_and_one_contact(
    fast_stack: Stack, case: Transient,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    admin = stack.sims.hubspot if case.sim == "hubspot" else stack.sims.xero
    admin.add_fault(case.path, case.status, method=case.method, times=case.times, headers=case.headers,
                    drop=case.drop, after=case.after, skip=case.skip)

    status = stack.run_deal(deal.deal_id)

    assert status["output"]["status"] == "completed", status["output"]
    assert sum(1 for r in admin.requests() if r["fault"]) == case.times  # every injected failure happened
    [invoice] = invoices(stack)
    [contact] = contacts(stack)
    assert invoice["Status"] == "AUTHORISED" and contact["ContactStatus"] == "ACTIVE"
    assert invoice["Contact"]["ContactID"] == contact["ContactID"]
    props = deal_props(stack, deal.deal_id)
    assert (props["invoice_sync_status"], props["xero_invoice_id"]) == ("synced", invoice["InvoiceID"])
    row = ledger_row(stack, deal.deal_id)
    assert row["status"] == "completed"
    step = case.step.split("-")[0]
    attempts = {s["name"]: s["attempts"] for s in row["steps"]}
    assert attempts[step] == case.times + 1, attempts
    assert [r["status"] for r in row["compensations"]] == []


@pytest.mark.e2e
def test_xero_daily_limit_makes_the_invoice_wait_visibly_for_the_reset_and_then_the_deal_is_invoiced(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    # Out of calls for the day: Xero names the limit and how long until it resets (3 s here).
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", 429, method="PUT", times=1,
                              headers={"Retry-After": "3", "X-Rate-Limit-Problem": "daily"})
    stack.client.clock(auto_advance=False)  # the wait takes real time, so that a person can see it
    try:
        tx = start_deal(stack, deal.deal_id)

        def waiting() -> dict[str, Any] | None:
            _, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
            steps = {s["name"]: s for s in (state or {}).get("steps", [])}
            invoice = steps.get("invoice", {})
            return state if invoice.get("status") == "retrying" and invoice.get("retry_at") else None

        state = wait_for("the invoice step to wait for the daily limit", waiting)
        step = next(s for s in state["steps"] if s["name"] == "invoice")
        assert state["status"] == "running"  # waiting, not rolling back
        assert step["last_error"]["code"] == "quota_exhausted" and "daily limit" in step["last_error"]["message"]
        failed_at = datetime.fromisoformat(step["started_at"])
        assert timedelta(seconds=2) <= datetime.fromisoformat(step["retry_at"]) - failed_at <= timedelta(seconds=5)
        assert invoices(stack) == []
        status = stack.client.wait(tx, timeout=30)
    finally:
        stack.client.clock(auto_advance=True)
    assert status["output"]["status"] == "completed", status["output"]
    [invoice] = invoices(stack)
    assert invoice["Status"] == "AUTHORISED"
    row = ledger_row(stack, deal.deal_id)
    assert {s["name"]: s["attempts"] for s in row["steps"]}["invoice"] == 2
    assert row["compensations"] == []


def _fail_write_back(stack: Stack, delay_ms: int = 0) -> None:
    """The write-back (second PATCH of the deal) is refused for good: the saga must roll back."""
    stack.sims.hubspot.add_fault(DEALS + "*", 400, method="PATCH", times=1, skip=1, delay_ms=delay_ms,
                                 body=_hubspot_error("Property values were not valid: xero_invoice_url",
                                                     "VALIDATION_ERROR"))


@pytest.mark.e2e
def test_an_undo_that_fails_transiently_is_retried_until_the_rollback_completes(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    hubspot_before = hubspot_data(stack)
    _fail_write_back(stack)
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices/*", 503, method="POST", times=2)  # the void
    stack.sims.xero.add_fault(f"{XERO_API}/Contacts/*", 429, method="POST", times=1,
                              headers={"Retry-After": "2"})  # the archive

    status = stack.run_deal(deal.deal_id)

    assert status["output"]["status"] == "compensated", status["output"]
    assert sum(1 for r in stack.sims.xero.requests() if r["fault"]) == 3
    [invoice] = invoices(stack)
    [contact] = contacts(stack)
    assert (invoice["Status"], contact["ContactStatus"]) == ("VOIDED", "ARCHIVED")
    assert_hubspot_put_back(stack, hubspot_before, deal.deal_id, "write_back")
    row = ledger_row(stack, deal.deal_id)
    assert row["status"] == "compensated"
    retried = [c["step"] for c in row["compensations"] if c["status"] == "retrying"]
    assert sorted(retried) == ["customer", "invoice", "invoice"]


@pytest.mark.e2e
def test_an_undo_that_keeps_failing_needs_attention_and_a_compensate_event_finishes_the_rollback(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    hubspot_before, xero_before = hubspot_data(stack), xero_data(stack)
    _fail_write_back(stack)
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices/*", 500, method="POST", times=-1)  # the void, for good
    tx = start_deal(stack, deal.deal_id)

    wait_custom_status(stack, tx, "needs_attention")
    row = wait_for("ledger needs_attention",
                   lambda: (r := ledger_row(stack, deal.deal_id))["status"] == "needs_attention" and r)
    assert row["failed_step"] == "write_back"
    [invoice] = invoices(stack)
    assert invoice["Status"] == "AUTHORISED"  # the one undo that could not be done is still owed
    failed = {c["step"]: c["error"]["message"] for c in row["compensations"] if c["status"] == "failed"}
    # The contact is kept while this deal's invoice stands on it, and the person is told so.
    assert sorted(failed) == ["customer", "invoice"], failed
    assert f"invoice {invoice['InvoiceNumber']} is still AUTHORISED" in failed["customer"]
    # The other undos did not wait for it.
    assert_hubspot_put_back(stack, hubspot_before, deal.deal_id, "write_back")
    # The line the alert rule matches: what is left, for whom to act on.
    wanted = f"sync attention: status=needs_attention transaction={tx} "
    told = wait_for("the attention line", lambda: [line for line in host_log_lines(stack) if wanted in line])
    assert "step=write_back" in told[0] and "undos_left=invoice,customer" in told[0], told

    stack.sims.xero.clear_faults()
    assert stack.client.raise_event(tx, names.manual_event("compensate", 0)) in (200, 202)
    status = stack.client.wait(tx, timeout=30)

    assert status["output"]["status"] == "compensated", status["output"]
    assert ledger_row(stack, deal.deal_id)["status"] == "compensated"
    [invoice] = invoices(stack)
    assert invoice["Status"] == "VOIDED"
    assert xero_live(stack, xero_before) == xero_before
    assert_hubspot_put_back(stack, hubspot_before, deal.deal_id, "write_back")
    # The rollback a person asked for is not reported as something to act on.
    assert not [line for line in host_log_lines(stack) if f"status=compensated transaction={tx} " in line]


@pytest.mark.e2e
def test_a_paid_invoice_cannot_be_rolled_back_so_a_person_is_asked_and_a_retry_completes_with_that_invoice(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    # The write-back is slow and then refused; meanwhile the customer pays the invoice in Xero.
    _fail_write_back(stack, delay_ms=1500)
    tx = start_deal(stack, deal.deal_id)
    [invoice] = wait_for("the invoice", lambda: invoices(stack))
    stack.sims.xero.pay_invoice(invoice["InvoiceID"])

    wait_custom_status(stack, tx, "needs_attention")
    row = wait_for("ledger needs_attention",
                   lambda: (r := ledger_row(stack, deal.deal_id))["status"] == "needs_attention" and r)
    failed = {c["step"]: c["error"]["message"] for c in row["compensations"] if c["status"] == "failed"}
    assert sorted(failed) == ["customer", "invoice"], failed
    assert "credit note" in failed["invoice"], failed
    assert invoices(stack)[0]["Status"] == "PAID"
    assert [c["ContactStatus"] for c in contacts(stack)] == ["ACTIVE"]  # not archived under a paid invoice

    # A person fixed what refused the write-back (the fault was a one-off) and retries.
    assert stack.client.raise_event(tx, names.manual_event("retry", 0)) in (200, 202)
    status = stack.client.wait(tx, timeout=30)

    assert status["output"]["status"] == "completed", status["output"]
    row = ledger_row(stack, deal.deal_id)
    assert row["status"] == "completed"
    [paid] = invoices(stack)  # reused, not duplicated
    assert paid["InvoiceID"] == invoice["InvoiceID"] and paid["Status"] == "PAID"
    props = deal_props(stack, deal.deal_id)
    assert (props["invoice_sync_status"], props["xero_invoice_id"]) == ("synced", invoice["InvoiceID"])
    assert [c["ContactStatus"] for c in contacts(stack)] == ["ACTIVE"]


@pytest.mark.e2e
def test_a_second_retry_click_waits_for_nobody_and_does_not_decide_the_next_round(fast_stack: Stack) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    _fail_write_back(stack)
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices/*", 500, method="POST", times=-1)  # the void, for good
    tx = start_deal(stack, deal.deal_id)
    wait_custom_status(stack, tx, "needs_attention")
    wait_for("the entity to need attention",
             lambda: stack.client.read_entity(names.SYNC_TRANSACTION, tx)[1]["status"] == "needs_attention")
    # Round 1 will fail again (Xero refuses to list invoices), so a person is asked a second time.
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", 400, method="GET", times=-1)
    api = f"{stack.client.base_url}/api/transactions/{tx}/retry"
    # A double click before the orchestration acts on the first (held still to make sure): one decision
    # per round, so the second is told it was taken already.
    stack.client.suspend(tx, "two clicks in flight")
    clicks = [httpx.post(api, timeout=10) for _ in range(2)]
    stack.client.resume(tx)
    assert [c.status_code for c in clicks] == [202, 409], [c.text for c in clicks]
    assert "retry" in clicks[1].json()["message"]

    def asked_again() -> dict[str, Any] | None:
        _, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
        return state if state["status"] == "needs_attention" and state["round"] == 1 else None

    wait_for("round 1 to need attention", asked_again, timeout=30)
    time.sleep(1.0)  # the second click had every chance to decide round 1 by now
    status = stack.client.status(tx)
    assert status is not None and status["runtimeStatus"] == "Running", status  # not Failed, still asking
    _, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
    assert (state["status"], state["round"]) == ("needs_attention", 1), state["transitions"]

    stack.sims.xero.clear_faults()
    assert httpx.post(f"{stack.client.base_url}/api/transactions/{tx}/compensate", timeout=10).status_code == 202
    assert stack.client.wait(tx, timeout=30)["output"]["status"] == "compensated"
    assert [i["Status"] for i in invoices(stack)] == ["VOIDED"]


@pytest.mark.e2e
def test_retry_and_compensate_clicked_at_once_take_one_decision_and_the_other_click_gets_409(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    _fail_write_back(stack)
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices/*", 500, method="POST", times=-1)  # the void, for good
    tx = start_deal(stack, deal.deal_id)
    wait_custom_status(stack, tx, "needs_attention")
    wait_for("the entity to need attention",
             lambda: stack.client.read_entity(names.SYNC_TRANSACTION, tx)[1]["status"] == "needs_attention")
    stack.sims.xero.clear_faults()
    base = f"{stack.client.base_url}/api/transactions/{tx}"
    stack.client.suspend(tx, "two people click at once")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda action: httpx.post(f"{base}/{action}", timeout=10), ["retry", "compensate"]))
    stack.client.resume(tx)

    codes = sorted(a.status_code for a in answers)
    assert codes == [202, 409], [(a.status_code, a.text) for a in answers]
    [taken] = [a.json()["action"] for a in answers if a.status_code == 202]
    [refused] = [a.json() for a in answers if a.status_code == 409]
    assert refused["error"] == "conflict" and taken in refused["message"], refused
    final = stack.client.wait(tx, timeout=30)["output"]
    assert final["status"] == ("completed" if taken == "retry" else "compensated"), final
    _, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
    assert [t["by"] for t in state["transitions"] if t["by"] != "saga"] == ["person"]  # one decision taken


@pytest.mark.e2e
def test_a_transaction_whose_orchestration_was_terminated_is_handed_to_a_person_not_left_running(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    deal = create_won_deal(stack.sims.hubspot_url)
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices", 503, method="PUT", times=1, headers={"Retry-After": "600"})
    stack.client.clock(auto_advance=False)  # the saga waits 10 minutes for Xero to come back...
    try:
        tx = start_deal(stack, deal.deal_id)
        wait_for("the saga to wait", lambda: (stack.client.status(tx) or {}).get("customStatus"))
        assert stack.client.terminate(tx, "an operator stopped it") in (200, 202)  # ...and is stopped
        wait_for("the termination", lambda: stack.client.status(tx)["runtimeStatus"] == "Terminated")
    finally:
        stack.client.clock(auto_advance=True)
    assert stack.client.read_entity(names.SYNC_TRANSACTION, tx)[1]["status"] == "running"

    assert stack.client.invoke_function(names.SCHEDULED_SYNC) == 202  # what the schedule runs

    def handed_over() -> dict[str, Any] | None:
        _, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
        return state if state["status"] == "needs_attention" else None

    state = wait_for("the transaction to be handed to a person", handed_over)
    assert state["reason"]["code"] == "orchestration_failed" and "Terminated" in state["reason"]["message"]
    # The stopped orchestration's own last ledger write may land late: the newer state still wins.
    time.sleep(0.5)
    assert wait_for("the ledger row", lambda: ledger_row(stack, deal.deal_id)["status"] == "needs_attention")
    shown = httpx.get(f"{stack.client.base_url}/api/transactions/{tx}", timeout=10).json()
    assert shown["actions"] == ["retry"]  # no decision can reach it; only a new attempt
    refused = httpx.post(f"{stack.client.base_url}/api/transactions/{tx}/compensate", timeout=10)
    assert refused.status_code == 409 and "stopped" in refused.json()["message"]
    told = [line for line in host_log_lines(stack) if f"status=needs_attention transaction={tx} " in line]
    assert told and "code=orchestration_failed" in told[0]
    # Retry syncs the deal as a new generation; the deal it left "in progress" is taken over, not locked.
    again = httpx.post(f"{stack.client.base_url}/api/transactions/{tx}/retry", timeout=10)
    assert again.status_code == 202 and again.json()["id"] == f"{tx}-g2", again.text
    assert stack.client.wait(f"{tx}-g2", timeout=30)["output"]["status"] == "completed"
    assert [i["Status"] for i in invoices(stack)] == ["AUTHORISED"]
    assert deal_props(stack, deal.deal_id)["invoice_sync_status"] == "synced"
