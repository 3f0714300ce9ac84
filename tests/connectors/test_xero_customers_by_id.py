"""``XeroClient.get_customers``: contacts read by ContactID (``IDs=``), at most 50 a call, checked by the spec."""

from __future__ import annotations

import json

import httpx

from shared.connectors.xero import XeroClient
from shared.domain.models import Customer
from simulators.testing import SimulatorsProcess

CONTACTS = "/api.xro/2.0/Contacts"
UNKNOWN = "00000000-0000-0000-0000-0000000000{:02d}"


def test_contacts_are_read_by_id_archived_included_unknown_left_out(
    xero: XeroClient, xero_sim: SimulatorsProcess
) -> None:
    active = xero.create_customer(Customer(external_id="company-1", name="Contoso"), "k-c1")
    archived = xero.create_customer(Customer(external_id="company-2", name="Fabrikam"), "k-c2")
    xero.create_customer(Customer(external_id="company-3", name="Northwind"), "k-c3")  # not asked for
    xero.archive_customer(archived.id)
    xero_sim.xero.clear_requests()

    found = xero.get_customers([active.id, archived.id, UNKNOWN.format(1)])

    assert set(found) == {active.id, archived.id}
    assert (found[active.id].external_id, found[active.id].status) == ("company-1", "ACTIVE")
    assert (found[archived.id].external_id, found[archived.id].status) == ("company-2", "ARCHIVED")
    [sent] = xero_sim.xero.requests()
    assert (sent["method"], sent["path"]) == ("GET", CONTACTS)
    assert "where" not in sent["query"]  # the optimised filter only: no ContactNumber search
    assert xero.get_customers([]) == {}


def test_more_than_50_ids_go_in_calls_of_at_most_50(xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    known = xero.create_customer(Customer(external_id="company-1", name="Contoso"), "k-c1")
    ids = [UNKNOWN.format(n) for n in range(70)] + [known.id, known.id]
    xero_sim.xero.clear_requests()
    assert set(xero.get_customers(ids)) == {known.id}
    sizes = [len(r["query"]["IDs"].split(",")) for r in xero_sim.xero.requests()]
    assert sizes == [50, 21]  # 71 distinct ids


def test_a_contact_merged_into_another_is_left_out() -> None:
    merged, kept = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/connect/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1800, "token_type": "Bearer"})
        contacts = [{"ContactID": merged, "ContactNumber": "company-1", "ContactStatus": "ARCHIVED",
                     "MergedToContactID": kept},
                    {"ContactID": kept, "ContactNumber": "company-1", "ContactStatus": "ACTIVE"}]
        return httpx.Response(200, content=json.dumps({"Contacts": contacts}),
                              headers={"Content-Type": "application/json"})

    with XeroClient("https://xero.test/api.xro/2.0", "https://xero.test/connect/token", "id", "secret", "tenant",
                    transport=httpx.MockTransport(answer)) as client:
        assert set(client.get_customers([merged, kept])) == {kept}
