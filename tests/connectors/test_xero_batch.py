"""The Xero batch connector against the Xero simulator over HTTP; every exchange is checked by Xero's spec."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from shared.connectors.ports import BatchAccountingPort, ElementRejected, ElementUnanswered
from shared.connectors.xero import XeroClient
from shared.connectors.xero_batch import XeroBatch, batch_key
from shared.domain.errors import BusinessRejection, PermanentError, TransientError
from shared.domain.models import Customer, CustomerRef, InvoiceDraft, InvoiceLine, InvoiceRef
from simulators.testing import SimulatorsProcess

BAD_ACCOUNT = "Account code '999' is not a valid code for this document."


def draft(customer_id: str, n: int, account: str = "200", unit: str = "100.00") -> InvoiceDraft:
    return InvoiceDraft(
        customer_id=customer_id, reference=f"deal-{n}", currency="USD", issue_date=date(2025, 3, 3),
        due_date=date(2025, 4, 2), status="AUTHORISED",
        lines=(InvoiceLine(description="Licence", quantity=Decimal("1"), unit_amount=Decimal(unit),
                           account_code=account, tax_type="NONE"),),
    )


@pytest.fixture
def batch(xero: XeroClient) -> Iterator[XeroBatch]:
    yield XeroBatch(xero)


@pytest.fixture
def customer_id(xero: XeroClient) -> str:
    return xero.create_customer(Customer(external_id="co-1", name="Fabrikam"), "customer-co-1").id


def writes(sims: SimulatorsProcess, method: str, path: str) -> list[dict[str, object]]:
    return [r for r in sims.xero.requests() if r["method"] == method and r["path"].endswith(path)]


def test_the_batch_connector_is_the_batch_port(batch: XeroBatch) -> None:
    assert isinstance(batch, BatchAccountingPort)


def test_one_rejected_invoice_among_50_leaves_49_created_and_one_rejection_in_xeros_words(
    batch: XeroBatch, customer_id: str, xero_sim: SimulatorsProcess
) -> None:
    drafts = [draft(customer_id, n, account="999" if n == 17 else "200") for n in range(50)]
    results = batch.create_invoices(drafts, batch_key("invoice", [d.reference for d in drafts]))
    assert list(results) == [d.reference for d in drafts]  # every draft answered, in the order given
    assert results["deal-17"] == ElementRejected(messages=(BAD_ACCOUNT,))
    made = {r: v for r, v in results.items() if isinstance(v, InvoiceRef)}
    assert len(made) == 49 and all(v.reference == r for r, v in made.items())
    assert len(xero_sim.xero.state()["invoices"]) == 49
    sent = writes(xero_sim, "PUT", "/Invoices")
    assert len(sent) == 1 and sent[0]["query"]["summarizeErrors"] == "false"


def test_a_retried_batch_with_the_same_key_creates_no_duplicates(
    batch: XeroBatch, customer_id: str, xero_sim: SimulatorsProcess
) -> None:
    drafts = [draft(customer_id, n) for n in range(5)]
    key = batch_key("invoice", [d.reference for d in drafts])
    xero_sim.xero.add_fault("/api.xro/2.0/Invoices", 503, method="PUT", after=True)  # created, answer lost
    with pytest.raises(TransientError):
        batch.create_invoices(drafts, key)
    again = batch.create_invoices(drafts, key)
    assert all(isinstance(v, InvoiceRef) for v in again.values())
    invoices = xero_sim.xero.state()["invoices"]
    assert len(invoices) == 5
    assert {v.id for v in again.values() if isinstance(v, InvoiceRef)} == {i["InvoiceID"] for i in invoices}


def test_shuffled_answers_are_still_matched_to_their_items(
    batch: XeroBatch, xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    xero_sim.xero.config(shuffle_answers=True, shuffle_seed=3)
    customers = [Customer(external_id=f"co-{n}", name=f"Customer {n}") for n in range(30)]
    made = batch.create_customers(customers, batch_key("customer", [c.external_id for c in customers]))
    assert all(isinstance(v, CustomerRef) and v.external_id == k for k, v in made.items())
    by_number = {c["ContactNumber"]: c["ContactID"] for c in xero_sim.xero.state()["contacts"]}
    assert {k: v.id for k, v in made.items() if isinstance(v, CustomerRef)} == by_number
    contact = by_number["co-0"]
    drafts = [draft(contact, n, account="999" if n % 7 == 0 else "200") for n in range(30)]
    results = batch.create_invoices(drafts, "invoices-shuffled")
    for d in drafts:
        result = results[d.reference]
        if int(d.reference.split("-")[1]) % 7 == 0:
            assert result == ElementRejected(messages=(BAD_ACCOUNT,))
        else:
            assert isinstance(result, InvoiceRef) and result.reference == d.reference


def test_more_than_50_split_into_calls_and_each_part_has_its_own_key(
    batch: XeroBatch, customer_id: str, xero_sim: SimulatorsProcess
) -> None:
    drafts = [draft(customer_id, n) for n in range(120)]
    results = batch.create_invoices(drafts, "invoice:abc")
    assert len([v for v in results.values() if isinstance(v, InvoiceRef)]) == 120
    sent = writes(xero_sim, "PUT", "/Invoices")
    assert [len(r["body"]["Invoices"]) for r in sent] == [50, 50, 20]
    assert [r["headers"]["Idempotency-Key"] for r in sent] == ["invoice:abc:1/3", "invoice:abc:2/3",
                                                                "invoice:abc:3/3"]


def test_an_element_missing_from_the_answer_is_unanswered_and_a_413_is_its_own_error(
    batch: XeroBatch, customer_id: str, xero_sim: SimulatorsProcess
) -> None:
    drafts = [draft(customer_id, n) for n in range(3)]
    answer = {"Invoices": [{"InvoiceID": "6d0f3b52-3d7e-4bb5-9d1a-2f7c1a6f0a11", "Reference": "deal-0",
                            "Status": "AUTHORISED", "StatusAttributeString": "OK"}]}
    xero_sim.xero.add_fault("/api.xro/2.0/Invoices", 200, method="PUT", body=answer)
    results = batch.create_invoices(drafts, "k-missing")
    assert isinstance(results["deal-0"], InvoiceRef)
    assert isinstance(results["deal-1"], ElementUnanswered) and isinstance(results["deal-2"], ElementUnanswered)
    xero_sim.xero.config(max_request_bytes=500)
    with pytest.raises(PermanentError) as too_large:
        batch.create_invoices(drafts, "k-large")
    assert too_large.value.code == "payload_too_large"


def test_a_400_of_the_whole_batch_is_a_batch_rejection(batch: XeroBatch, xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.add_fault("/api.xro/2.0/Contacts", 400, method="PUT", body={
        "ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
        "Elements": []})
    with pytest.raises(BusinessRejection) as refused:
        batch.create_customers([Customer(external_id="co-9", name="Nine")], "k-400")
    assert refused.value.code == "batch_rejected"


def test_void_invoices_reads_statuses_then_sends_one_post(
    batch: XeroBatch, customer_id: str, xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    made = batch.create_invoices([draft(customer_id, n) for n in range(4)], "k-void")
    ids = [v.id for v in made.values() if isinstance(v, InvoiceRef)]
    xero_sim.xero.pay_invoice(ids[1])
    xero.undo_invoice(ids[2])
    gone = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00"
    xero_sim.xero.clear_requests()
    outcome = batch.void_invoices([*ids, gone])
    assert outcome[ids[0]] == "voided" and outcome[ids[3]] == "voided"
    assert isinstance(outcome[ids[1]], ElementRejected) and outcome[ids[1]].code == "credit_note_required"
    assert outcome[ids[2]] == "already_gone" and outcome[gone] == "absent"
    calls = [(r["method"], r["path"].rsplit("/", 1)[1]) for r in xero_sim.xero.requests()]
    assert calls == [("GET", "Invoices"), ("POST", "Invoices")]
    assert batch.void_invoices([ids[0]]) == {ids[0]: "already_gone"}


def test_archive_customers_archives_the_active_ones_in_one_post(
    batch: XeroBatch, xero_sim: SimulatorsProcess
) -> None:
    made = batch.create_customers([Customer(external_id=f"co-{n}", name=f"C{n}") for n in range(3)], "k-arch")
    ids = [v.id for v in made.values() if isinstance(v, CustomerRef)]
    assert batch.archive_customers(ids[:1]) == {ids[0]: "archived"}
    unknown = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
    xero_sim.xero.clear_requests()
    assert batch.archive_customers([*ids, unknown]) == {
        ids[0]: "already_gone", ids[1]: "archived", ids[2]: "archived", unknown: "absent"}
    posts = writes(xero_sim, "POST", "/Contacts")
    assert len(posts) == 1 and len(posts[0]["body"]["Contacts"]) == 2


def test_find_invoices_by_references_uses_an_or_filter_of_at_most_40_references(
    batch: XeroBatch, customer_id: str, xero_sim: SimulatorsProcess
) -> None:
    batch.create_invoices([draft(customer_id, n) for n in range(45)], "k-find")
    xero_sim.xero.clear_requests()
    refs = [f"deal-{n}" for n in range(0, 90, 2)]  # 23 exist, 22 do not
    found = batch.find_invoices_by_references(refs)
    assert list(found) == refs
    assert all(len(found[r]) == 1 and found[r][0].reference == r for r in refs if int(r[5:]) < 45)
    assert all(found[r] == [] for r in refs if int(r[5:]) >= 45)
    wheres = [str(r["query"]["where"]) for r in xero_sim.xero.requests()]
    assert [w.count(" OR ") + 1 for w in wheres] == [40, 5]
    assert wheres[0].startswith('Reference=="deal-0" OR Reference=="deal-2"')


def test_four_decimal_unit_prices_ask_for_unitdp_4_and_drafts_must_be_unique(
    batch: XeroBatch, customer_id: str, xero_sim: SimulatorsProcess
) -> None:
    made = batch.create_invoices([draft(customer_id, 1, unit="12.3456"), draft(customer_id, 2)], "k-dp")
    assert writes(xero_sim, "PUT", "/Invoices")[0]["query"]["unitdp"] == "4"
    first = made["deal-1"]
    assert isinstance(first, InvoiceRef) and first.total == Decimal("12.35")
    with pytest.raises(ValueError, match="unique"):
        batch.create_invoices([draft(customer_id, 3), draft(customer_id, 3)], "k-dup")


def test_find_live_invoices_of_reads_many_contacts_invoices_in_one_call(
    batch: XeroBatch, xero_sim: SimulatorsProcess
) -> None:
    made = batch.create_customers([Customer(external_id=f"co-l{n}", name=f"L{n}") for n in range(3)], "k-live")
    ids = [v.id for v in made.values() if isinstance(v, CustomerRef)]
    invoices = batch.create_invoices([draft(ids[0], 1), draft(ids[0], 2), draft(ids[1], 3)], "k-live-i")
    gone = invoices["deal-2"]
    assert isinstance(gone, InvoiceRef) and batch.void_invoices([gone.id]) == {gone.id: "voided"}
    xero_sim.xero.clear_requests()
    live = batch.find_live_invoices_of(ids)
    assert {c: [i.reference for i in found] for c, found in live.items()} == {
        ids[0]: ["deal-1"], ids[1]: ["deal-3"], ids[2]: []}
    [read] = xero_sim.xero.requests()
    assert read["method"] == "GET" and read["query"]["ContactIDs"] == ",".join(ids)
