"""The Xero connector against the Xero simulator over real HTTP; every exchange is checked by the spec."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest

from shared.connectors.xero import XeroClient
from shared.domain.errors import BusinessRejection, PermanentError, TransientError
from shared.domain.models import Customer, InvoiceDraft, InvoiceLine
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import make_xero

INVOICES = "/api.xro/2.0/Invoices"


def draft(
    customer_id: str,
    reference: str = "deal-1001",
    account: str = "200",
    status: str = "AUTHORISED",
    currency: str = "EUR",
) -> InvoiceDraft:
    return InvoiceDraft(
        customer_id=customer_id,
        reference=reference,
        currency=currency,
        issue_date=date(2025, 3, 3),
        due_date=date(2025, 4, 2),
        status=status,
        lines=(
            InvoiceLine(
                description="Platform licence",
                quantity=Decimal("3"),
                unit_amount=Decimal("1999.99"),
                account_code=account,
                tax_type="OUTPUT2",
            ),
            InvoiceLine(
                description="Onboarding",
                quantity=Decimal("1.5"),
                unit_amount=Decimal("0.10"),
                account_code=account,
                tax_type="NONE",
                discount_rate=Decimal("10"),
            ),
        ),
    )


def customer(xero: XeroClient, external_id: str = "company-501", name: str = "Fabrikam Robotics") -> str:
    return xero.create_customer(
        Customer(external_id=external_id, name=name, email="ap@fabrikam.example"), f"customer-{external_id}"
    ).id


def test_a_customer_is_the_companys_only_by_its_id_never_by_name_or_email(xero: XeroClient) -> None:
    assert xero.find_customer("company-501") is None
    created = xero.create_customer(
        Customer(external_id="company-501", name="Fabrikam Robotics", email="ap@fabrikam.example"),
        "k-customer-1",
    )
    assert created.external_id == "company-501" and created.status == "ACTIVE"
    assert xero.find_customer("company-501") == created
    assert xero.find_customer("company-50") is None and xero.find_customer("other-id") is None
    # Who holds a name is a separate question (for a clash), answered as Xero compares names.
    assert xero.find_customers_named("fabrikam robotics") == [created]
    assert xero.find_customers_named("Fabrikam") == []


def test_archived_customer_is_found_only_on_request_and_reactivated_not_duplicated(
    xero: XeroClient,
) -> None:
    first = customer(xero)
    xero.archive_customer(first)
    xero.archive_customer(first)  # already archived counts as done
    xero.archive_customer("00000000-0000-0000-0000-000000000000")  # unknown: nothing to undo
    assert xero.find_customer("company-501") is None
    archived = xero.find_customer("company-501", include_archived=True)
    assert archived is not None and archived.id == first and archived.status == "ARCHIVED"
    again = xero.reactivate_customer(first)
    assert again.id == first and again.status == "ACTIVE"
    assert xero.find_customer("company-501") == again


def test_invoice_is_created_with_exact_amounts(xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    ref = xero.create_invoice(draft(customer(xero)), "sync-tx-1:invoice")
    assert ref.status == "AUTHORISED" and ref.number.startswith("INV-") and ref.reference == "deal-1001"
    # 3 x 1999.99 = 5999.97 + 20% tax 1199.99; 1.5 x 0.10 less 10% = 0.14 (rounded), no tax.
    assert ref.total == Decimal("7200.10")
    assert ref.currency == "EUR"
    assert ref.url == xero.invoice_link(ref.id) and ref.id in ref.url
    sent = next(r for r in xero_sim.xero.requests() if r["method"] == "PUT" and r["path"] == INVOICES)
    assert sent["query"]["summarizeErrors"] == "false"
    assert sent["headers"]["Idempotency-Key"] == "sync-tx-1:invoice"
    assert '"UnitAmount":1999.99' in sent["body_text"] and '"Quantity":1.5' in sent["body_text"]
    assert sent["headers"]["xero-tenant-id"] and sent["headers"]["Authorization"] == "***"


def test_same_idempotency_key_twice_creates_one_invoice(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    contact = customer(xero)
    first = xero.create_invoice(draft(contact), "sync-tx-2:invoice")
    second = xero.create_invoice(draft(contact), "sync-tx-2:invoice")
    assert first == second
    assert len(xero_sim.xero.state()["invoices"]) == 1


def test_lost_response_then_retry_with_the_same_key_still_gives_one_invoice(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    contact = customer(xero)
    xero_sim.xero.add_fault(INVOICES, 504, method="PUT", after=True)
    with pytest.raises(TransientError):
        xero.create_invoice(draft(contact), "sync-tx-3:invoice")
    ref = xero.create_invoice(draft(contact), "sync-tx-3:invoice")
    invoices = xero_sim.xero.state()["invoices"]
    assert [i["InvoiceID"] for i in invoices] == [ref.id]
    assert [r.id for r in xero.find_invoices_by_reference("deal-1001")] == [ref.id]


def test_validation_error_is_a_rejection_with_xeros_own_message(xero: XeroClient) -> None:
    with pytest.raises(BusinessRejection) as caught:
        xero.create_invoice(draft(customer(xero), account="999"), "sync-tx-4:invoice")
    assert "Account code '999' is not a valid code for this document." in caught.value.message
    assert caught.value.code == "validation" and caught.value.service == "xero"


def test_server_errors_and_dropped_connections_are_transient(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    xero_sim.xero.add_fault(INVOICES, 503, method="GET", times=1)
    with pytest.raises(TransientError) as caught:
        xero.get_invoice("00000000-0000-0000-0000-000000000001")
    assert caught.value.status == 503
    xero_sim.xero.add_fault(INVOICES, method="GET", drop=True)
    with pytest.raises(TransientError):
        xero.get_invoice("00000000-0000-0000-0000-000000000001")
    assert (
        xero.get_invoice("00000000-0000-0000-0000-000000000001") is None
    )  # 404 on a GET by id is "not found"


def test_live_invoices_of_a_customer_leave_out_voided_and_other_customers_invoices(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    contact, other = customer(xero), customer(xero, "company-502", "Contoso")
    live = xero.create_invoice(draft(contact, reference="deal-l"), "k-l")
    voided = xero.create_invoice(draft(contact, reference="deal-v"), "k-v")
    xero.create_invoice(draft(other, reference="deal-o"), "k-o")
    xero.undo_invoice(voided.id)
    assert [(r.id, r.reference) for r in xero.find_live_invoices(contact)] == [(live.id, "deal-l")]
    sent = [r for r in xero_sim.xero.requests() if r["method"] == "GET" and r["path"] == INVOICES][-1]
    assert sent["query"]["ContactIDs"] == contact  # filtered by Xero, not by reading every invoice


def test_invoices_are_read_by_id_in_lists_of_at_most_fifty_and_unknown_ids_are_left_out(
    xero: XeroClient, xero_sim: SimulatorsProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = customer(xero)
    made = [xero.create_invoice(draft(contact, reference=f"deal-b{n}"), f"k-b{n}") for n in range(3)]
    unknown = "00000000-0000-0000-0000-00000000beef"
    monkeypatch.setattr("shared.connectors.xero.MAX_IDS_PER_CALL", 2)
    since = len(xero_sim.xero.requests())
    asked = [made[2].id.upper(), unknown, made[0].id, made[1].id, made[0].id]
    found = xero.get_invoices(asked)
    assert {i: r.reference for i, r in found.items()} == {
        made[2].id.upper(): "deal-b2", made[0].id: "deal-b0", made[1].id: "deal-b1"}
    sent = [r["query"]["IDs"].split(",") for r in xero_sim.xero.requests()[since:]]
    assert sent == [[made[2].id.upper(), unknown], [made[0].id, made[1].id]]  # each id once, two per call


def test_an_id_list_longer_than_fifty_is_refused_as_an_over_long_url(xero: XeroClient) -> None:
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(51)]
    assert xero.get_invoices(ids[:50]) == {}
    response = xero._call("GET", INVOICES.removeprefix("/api.xro/2.0"), params={"IDs": ",".join(ids)})
    assert response.status_code == 414


def test_draft_is_deleted_and_authorised_is_voided_and_gone_stays_gone(xero: XeroClient) -> None:
    contact = customer(xero)
    drafted = xero.create_invoice(draft(contact, reference="deal-d", status="DRAFT"), "k-d")
    approved = xero.create_invoice(draft(contact, reference="deal-a"), "k-a")
    assert xero.undo_invoice(drafted.id) == "deleted"
    assert xero.undo_invoice(approved.id) == "voided"
    assert xero.undo_invoice(approved.id) == "already_gone"
    assert xero.undo_invoice(drafted.id) == "already_gone"
    assert xero.undo_invoice("00000000-0000-0000-0000-00000000abcd") == "absent"
    gone = [xero.get_invoice(drafted.id), xero.get_invoice(approved.id)]
    assert [ref.status if ref else None for ref in gone] == ["DELETED", "VOIDED"]


def test_paid_invoice_cannot_be_voided_and_needs_a_person(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    ref = xero.create_invoice(draft(customer(xero)), "k-paid")
    xero_sim.xero.pay_invoice(ref.id, date="2025-03-20")
    paid = xero.get_invoice(ref.id)
    assert paid is not None and paid.status == "PAID" and paid.paid_on == date(2025, 3, 20)
    assert paid.amount_paid == Decimal("7200.10") and paid.amount_due == Decimal("0.00")
    with pytest.raises(BusinessRejection) as caught:
        xero.undo_invoice(ref.id)
    assert caught.value.code == "credit_note_required" and "credit note" in caught.value.message


def test_partly_paid_invoice_cannot_be_voided_either(xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    ref = xero.create_invoice(draft(customer(xero)), "k-part")
    xero_sim.xero.pay_invoice(ref.id, amount="100.00")
    assert xero.get_invoice(ref.id).status == "AUTHORISED"  # type: ignore[union-attr]
    with pytest.raises(BusinessRejection) as caught:
        xero.undo_invoice(ref.id)
    assert caught.value.code == "credit_note_required"


def test_the_app_link_of_an_invoice_needs_no_call(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    ref = xero.create_invoice(draft(customer(xero)), "k-online")
    before = len(xero_sim.xero.requests())
    assert xero.invoice_link(ref.id) == f"https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={ref.id}"
    assert len(xero_sim.xero.requests()) == before


def test_expired_token_is_refreshed_once(xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    xero.find_customer("company-1")
    assert xero_sim.xero.state()["tokens_issued"] == 1
    xero_sim.xero.expire_tokens()
    xero.find_customer("company-1")
    statuses = [r["status"] for r in xero_sim.xero.requests() if r["path"].startswith("/api.xro")]
    assert statuses == [200, 401, 200]
    assert xero_sim.xero.state()["tokens_issued"] == 2


def test_short_lived_token_is_renewed_before_it_expires(xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.config(token_lifetime=2)
    with make_xero(xero_sim) as client:
        client.find_customer("a")
        time.sleep(2.1)
        client.find_customer("b")
    assert [r["status"] for r in xero_sim.xero.requests() if r["path"].startswith("/api.xro")] == [200, 200]


def test_refused_credentials_are_permanent_and_secret_free(xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.config(client_secret="another-secret")
    with make_xero(xero_sim) as client, pytest.raises(PermanentError) as caught:
        client.find_customer("a")
    assert "invalid_client" in caught.value.message
    assert "test-client-secret" not in str(caught.value.to_dict()) and "test-client-secret" not in repr(
        client
    )


def test_token_rejected_twice_is_transient_so_a_short_401_burst_is_retried(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    xero_sim.xero.add_fault("/api.xro/2.0/Contacts", 401, times=2)
    with pytest.raises(TransientError) as caught:
        xero.find_customer("a")
    assert caught.value.code == "unauthorized"
    assert xero_sim.xero.state()["tokens_issued"] == 2
    assert xero.find_customer("a") is None  # the burst is over: the retry goes through


def test_rate_limit_answer_carries_retry_after_and_pauses_the_client(xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.config(calls_per_minute=3, time_scale=30)  # a simulated minute lasts 2 s
    with make_xero(xero_sim, calls_per_minute=None) as client:
        for _ in range(3):
            client.find_customer("a")
        with pytest.raises(TransientError) as caught:
            client.find_customer("a")
    assert caught.value.code == "rate_limited" and caught.value.retry_after in (1.0, 2.0)
    limited = next(r for r in xero_sim.xero.requests() if r["status"] == 429)
    assert limited["response_headers"]["X-Rate-Limit-Problem"] == "minute"
    first_call = next(r for r in xero_sim.xero.requests() if r["path"].startswith("/api.xro"))
    assert first_call["response_headers"]["X-MinLimit-Remaining"] == "2"


def test_retry_after_is_honoured_by_the_next_call(xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.add_fault(
        "/api.xro/2.0/Contacts", 429, headers={"Retry-After": "1", "X-Rate-Limit-Problem": "minute"}
    )
    with pytest.raises(TransientError) as caught:
        xero.find_customer("a")
    assert caught.value.retry_after == 1.0
    started = time.monotonic()
    xero.find_customer("a")
    assert time.monotonic() - started >= 0.9


def test_daily_limit_pause_is_not_slept_in_the_activity_but_handed_to_the_saga(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    xero_sim.xero.add_fault(
        "/api.xro/2.0/Contacts", 429, headers={"Retry-After": "43200", "X-Rate-Limit-Problem": "daily"}
    )
    with pytest.raises(TransientError):
        xero.find_customer("a")
    sent = len(xero_sim.xero.requests())
    started = time.monotonic()
    with pytest.raises(TransientError) as caught:
        xero.find_customer("a")  # not sent: the saga waits on a durable timer instead
    assert time.monotonic() - started < 1.0
    # "quota_exhausted": the saga waits for the reset without counting it against its deadline.
    assert caught.value.code == "quota_exhausted" and caught.value.retry_after == pytest.approx(43200, abs=5)
    assert "daily limit" in str(caught.value)
    assert len(xero_sim.xero.requests()) == sent


@pytest.mark.parametrize(("problem", "code"), [("daily", "quota_exhausted"), ("Day", "quota_exhausted"),
                                                ("minute", "rate_limited"), ("concurrent", "rate_limited"),
                                                ("appminute", "rate_limited"), ("", "rate_limited")])
def test_a_429_says_whether_it_is_a_quota_for_the_day_or_a_short_pause(
    xero: XeroClient, xero_sim: SimulatorsProcess, problem: str, code: str
) -> None:
    headers = {"Retry-After": "0"} | ({"X-Rate-Limit-Problem": problem} if problem else {})
    xero_sim.xero.add_fault("/api.xro/2.0/Contacts", 429, headers=headers)
    with pytest.raises(TransientError) as caught:
        xero.find_customer("a")
    assert (caught.value.code, caught.value.status) == (code, 429)


def test_client_limiter_keeps_within_sixty_calls_a_minute(xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.config(time_scale=30)  # 60 calls per 2 s
    with make_xero(xero_sim, time_scale=30) as client:
        started = time.monotonic()
        for n in range(75):
            client.find_customer(f"c{n}")
        elapsed = time.monotonic() - started
    assert [r for r in xero_sim.xero.requests() if r["status"] == 429] == []
    assert elapsed >= 1.9


def _hammer(client: XeroClient, threads: int = 10) -> list[Exception]:
    errors: list[Exception] = []

    def one() -> None:
        try:
            client.find_customer("x")
        except Exception as exc:
            errors.append(exc)

    workers = [threading.Thread(target=one) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return errors


def test_client_limiter_keeps_within_five_concurrent_calls(xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.config(time_scale=60)
    with make_xero(xero_sim, time_scale=60) as warm:
        warm.find_customer("warm-up")  # token fetched outside the measured burst
        xero_sim.xero.add_fault("/api.xro/2.0/Contacts", method="GET", delay_ms=300, times=-1)
        assert _hammer(warm) == []
    assert [r for r in xero_sim.xero.requests() if r["status"] == 429] == []


def test_without_the_limiter_the_simulator_refuses_a_sixth_concurrent_call(
    xero_sim: SimulatorsProcess,
) -> None:
    with make_xero(xero_sim, calls_per_minute=None) as client:
        client.find_customer("warm-up")
        xero_sim.xero.add_fault("/api.xro/2.0/Contacts", method="GET", delay_ms=300, times=-1)
        errors = _hammer(client)
    assert errors and all(isinstance(e, TransientError) and e.status == 429 for e in errors)
    problems = {
        r["response_headers"].get("X-Rate-Limit-Problem")
        for r in xero_sim.xero.requests()
        if r["status"] == 429
    }
    assert problems == {"concurrent"}
