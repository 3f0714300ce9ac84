"""The Xero simulator's batch behaviours over HTTP: what makes many elements per call hard for a client.

Per-element answers (``summarizeErrors``), the request-size cap, a latency that grows with the batch, the
``IDs=`` cap of ``GET /Contacts``, HighVolumeException on unoptimised filters of a big organisation, bulk void
and archive through the collection POSTs, and answers in no promised order. Every exchange is also checked
against Xero's spec (the ``xero_sim`` fixture).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from shared.connectors.xero import XeroClient
from simulators.testing import SimulatorsProcess

BAD_ACCOUNT = "Account code '999' is not a valid code for this document."


def invoice(contact_id: str, reference: str, account: str = "200", status: str = "AUTHORISED") -> dict[str, Any]:
    return {
        "Type": "ACCREC", "Contact": {"ContactID": contact_id}, "Reference": reference, "Status": status,
        "Date": "2025-03-03", "DueDate": "2025-04-02", "CurrencyCode": "USD",
        "LineItems": [{"Description": "Licence", "Quantity": 1, "UnitAmount": 100, "AccountCode": account,
                       "TaxType": "NONE"}],
    }


def put(xero: XeroClient, kind: str, elements: list[dict[str, Any]], summarize: bool | None = None,
        method: str = "PUT") -> httpx.Response:
    params = {} if summarize is None else {"summarizeErrors": str(summarize).lower()}
    return xero._call(method, f"/{kind}", params=params, json={kind: elements})


def a_contact(xero: XeroClient, name: str = "Fabrikam") -> str:
    answer = put(xero, "Contacts", [{"Name": name, "ContactNumber": f"co-{name}"}], summarize=False)
    return str(answer.json()["Contacts"][0]["ContactID"])


def test_invoices_without_summarized_errors_answer_each_element_ok_or_error(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    contact = a_contact(xero)
    answer = put(xero, "Invoices", [invoice(contact, "deal-1"), invoice(contact, "deal-2", account="999"),
                                    invoice(contact, "deal-3")], summarize=False)
    assert answer.status_code == 200
    by_ref = {e["Reference"]: e for e in answer.json()["Invoices"]}
    assert [by_ref[r]["StatusAttributeString"] for r in ("deal-1", "deal-2", "deal-3")] == ["OK", "ERROR", "OK"]
    assert by_ref["deal-2"]["ValidationErrors"] == [{"Message": BAD_ACCOUNT}]
    assert sorted(i["Reference"] for i in xero_sim.xero.state()["invoices"]) == ["deal-1", "deal-3"]


def test_summarized_errors_create_the_valid_invoices_and_answer_400_with_the_invalid_ones(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    contact = a_contact(xero)
    answer = put(xero, "Invoices", [invoice(contact, "deal-1"), invoice(contact, "deal-2", account="999"),
                                    invoice(contact, "deal-3")])
    assert answer.status_code == 400
    body = answer.json()
    assert body["Type"] == "ValidationException"
    assert [e["Reference"] for e in body["Elements"]] == ["deal-2"]
    assert body["Elements"][0]["ValidationErrors"] == [{"Message": BAD_ACCOUNT}]
    # As Xero does: the 400 does not mean "nothing was created".
    assert sorted(i["Reference"] for i in xero_sim.xero.state()["invoices"]) == ["deal-1", "deal-3"]


def test_contacts_answer_each_element_and_summarized_errors_still_create_the_valid_ones(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    answer = put(xero, "Contacts", [{"Name": "A"}, {"Name": ""}, {"Name": "B"}], summarize=False)
    assert [e["StatusAttributeString"] for e in answer.json()["Contacts"]] == ["OK", "ERROR", "OK"]
    summarized = put(xero, "Contacts", [{"Name": "C"}, {"Name": "a"}, {"Name": "C"}])
    assert summarized.status_code == 400
    messages = [m["Message"] for e in summarized.json()["Elements"] for m in e["ValidationErrors"]]
    # "a" clashes with the standing "A", the second "C" with the first one of the same request.
    assert len(messages) == 2 and all("already assigned to another contact" in m for m in messages)
    assert sorted(c["Name"] for c in xero_sim.xero.state()["contacts"]) == ["A", "B", "C"]


def test_a_request_over_the_size_cap_is_refused_with_413_and_creates_nothing(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    xero_sim.xero.config(max_request_bytes=2_000)
    answer = put(xero, "Contacts", [{"Name": f"Customer {n}", "ContactNumber": f"co-{n}"} for n in range(60)])
    assert answer.status_code == 413
    assert xero_sim.xero.state()["contacts"] == []
    assert put(xero, "Contacts", [{"Name": "Small"}]).status_code == 200


def test_the_latency_of_a_batch_grows_with_its_size_and_is_off_by_default(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    def timed(n: int, offset: int) -> float:
        started = time.monotonic()
        assert put(xero, "Contacts", [{"Name": f"C{offset + i}"} for i in range(n)]).status_code == 200
        return time.monotonic() - started

    assert timed(20, 0) < 0.5
    xero_sim.xero.config(batch_latency_ms=50, batch_latency_per_element_ms=20)
    one, twenty = timed(1, 100), timed(20, 200)
    assert one >= 0.07 and twenty >= 0.45 and twenty - one >= 0.3
    xero_sim.xero.config(time_scale=10.0)  # time-scaled like the rate limits: a tenth of the wait
    assert timed(20, 300) < 0.2


def test_contacts_by_ids_answer_those_contacts_and_more_than_50_ids_are_refused(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    ids = [a_contact(xero, name) for name in ("A", "B", "C")]
    found = xero._call("GET", "/Contacts", params={"IDs": ",".join(ids[:2])}).json()["Contacts"]
    assert sorted(c["ContactID"] for c in found) == sorted(ids[:2])
    many = [str(uuid.uuid4()) for _ in range(51)]
    assert xero._call("GET", "/Contacts", params={"IDs": ",".join(many)}).status_code == 414
    assert xero._call("GET", "/Contacts", params={"IDs": ",".join(many[:50])}).status_code == 200


def test_a_big_organisation_refuses_unoptimised_contact_filters_with_high_volume_exception(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    ids = [a_contact(xero, name) for name in ("A", "B", "C")]
    by_number = {"where": 'ContactNumber=="co-A"'}
    assert xero._call("GET", "/Contacts", params=by_number).status_code == 200  # a small organisation
    xero_sim.xero.config(high_volume_threshold=2)
    refused = xero._call("GET", "/Contacts", params=by_number)
    assert refused.status_code == 400
    assert refused.json()["Type"] == "HighVolumeException"
    assert "not filtering Contacts efficiently" in refused.json()["Message"]
    assert xero._call("GET", "/Contacts", params={"where": 'Name=="A"'}).status_code == 200  # optimised
    assert xero._call("GET", "/Contacts", params={"IDs": ids[0]}).status_code == 200


def test_bulk_void_through_the_collection_post_answers_each_invoice(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    contact = a_contact(xero)
    made = put(xero, "Invoices", [invoice(contact, "deal-1"), invoice(contact, "deal-2"),
                                  invoice(contact, "deal-3", status="DRAFT")], summarize=False).json()["Invoices"]
    ids = [i["InvoiceID"] for i in made]
    answer = put(xero, "Invoices", [{"InvoiceID": i, "Status": "VOIDED"} for i in ids], summarize=False,
                 method="POST")
    assert answer.status_code == 200
    by_id = {e["InvoiceID"]: e for e in answer.json()["Invoices"]}
    assert [by_id[i]["StatusAttributeString"] for i in ids] == ["OK", "OK", "ERROR"]
    assert by_id[ids[0]]["Status"] == "VOIDED"
    assert "Only AUTHORISED invoices can be voided" in by_id[ids[2]]["ValidationErrors"][0]["Message"]
    statuses = {i["InvoiceID"]: i["Status"] for i in xero_sim.xero.state()["invoices"]}
    assert [statuses[i] for i in ids] == ["VOIDED", "VOIDED", "DRAFT"]


def test_bulk_archive_through_the_collection_post_answers_each_contact(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    ids = [a_contact(xero, name) for name in ("A", "B")]
    unknown = str(uuid.uuid4())
    answer = put(xero, "Contacts", [{"ContactID": i, "ContactStatus": "ARCHIVED"} for i in [*ids, unknown]],
                 summarize=False, method="POST")
    assert answer.status_code == 200
    by_id = {e.get("ContactID"): e for e in answer.json()["Contacts"]}
    assert [by_id[i]["StatusAttributeString"] for i in [*ids, unknown]] == ["OK", "OK", "ERROR"]
    assert {c["ContactStatus"] for c in xero_sim.xero.state()["contacts"]} == {"ARCHIVED"}
    # The collection POST creates an element without a ContactID, as Xero's update-or-create does.
    created = put(xero, "Contacts", [{"Name": "New"}], summarize=False, method="POST").json()["Contacts"]
    assert created[0]["StatusAttributeString"] == "OK" and created[0]["ContactID"]


def test_answers_may_come_in_another_order_than_the_elements_were_sent(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    names = [f"Customer {n:02d}" for n in range(20)]
    in_order = put(xero, "Contacts", [{"Name": n} for n in names], summarize=False).json()["Contacts"]
    assert [c["Name"] for c in in_order] == names  # by default: in the order sent
    xero_sim.xero.config(shuffle_answers=True, shuffle_seed=7)
    again = [f"Other {n:02d}" for n in range(20)]
    shuffled = put(xero, "Contacts", [{"Name": n} for n in again], summarize=False).json()["Contacts"]
    assert sorted(c["Name"] for c in shuffled) == again and [c["Name"] for c in shuffled] != again
