"""The HubSpot connector against the HubSpot simulator over real HTTP; data made through HubSpot's own API."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.connectors import hubspot as hubspot_module
from shared.connectors.hubspot import HubSpotClient
from shared.domain.errors import BusinessRejection, PermanentError, TransientError
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import HUBSPOT_TOKEN

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class Portal:
    """Makes CRM records through the public API, as a HubSpot user's tools would."""

    def __init__(self, sims: SimulatorsProcess) -> None:
        self.http = httpx.Client(
            base_url=sims.hubspot_url, timeout=10.0, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}
        )

    def create(self, kind: str, props: dict[str, str], to: list[tuple[str, int]] = ()) -> str:  # type: ignore[assignment]
        body: dict[str, Any] = {
            "properties": props,
            "associations": [
                {
                    "to": {"id": oid},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": tid}],
                }
                for oid, tid in to
            ],
        }
        response = self.http.post(f"/crm/objects/2026-09/{kind}", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def deal(self, stage: str = "closedwon", **props: str) -> str:
        company = self.create(
            "companies", {"name": "Coho Winery", "city": "Adelaide", "domain": "coho.example"}
        )
        contact = self.create(
            "contacts", {"firstname": "Robert", "lastname": "King", "email": "rk@coho.example"}
        )
        items = [
            self.create(
                "line_items", {"name": "Licence", "quantity": "2", "price": "1250.50", "hs_sku": "L1"}
            ),
            self.create("line_items", {"name": "Support", "quantity": "1", "price": "99.99"}),
        ]
        return self.create(
            "deals",
            {
                "dealname": "Coho renewal",
                "dealstage": stage,
                "amount": "2600.99",
                "deal_currency_code": "AUD",
                "closedate": "2025-03-04T10:00:00.000Z",
                "pipeline": "default",
                **props,
            },
            [(company, 5), (contact, 3), *[(i, 19) for i in items]],
        )


@pytest.fixture
def portal(hub_sim: SimulatorsProcess) -> Portal:
    hub_sim.hubspot.seed("demo")
    return Portal(hub_sim)


def test_deal_is_read_with_associations_in_one_call(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    hub_sim.hubspot.clear_requests()
    deal_id = portal.deal(payment_terms_days="45")
    hub_sim.hubspot.clear_requests()
    deal = hubspot.get_deal(deal_id)
    assert deal.amount == Decimal("2600.99") and deal.currency == "AUD" and deal.stage == "closedwon"
    assert deal.close_date == date(2025, 3, 4) and deal.payment_terms_days == 45
    assert len(deal.company_ids) == 1 and len(deal.contact_ids) == 1 and len(deal.line_item_ids) == 2
    assert deal.markers.sync_status == "" and deal.last_modified is not None
    assert len(hub_sim.hubspot.requests()) == 1
    items = hubspot.get_line_items(list(reversed(deal.line_item_ids)))
    assert [i.unit_price for i in items] == [Decimal("99.99"), Decimal("1250.50")]
    assert hubspot.get_company(deal.company_ids[0]).name == "Coho Winery"
    assert hubspot.get_person(deal.contact_ids[0]).email == "rk@coho.example"


def test_unknown_records_are_permanent_errors(hubspot: HubSpotClient, portal: Portal) -> None:
    with pytest.raises(PermanentError) as caught:
        hubspot.get_deal("999")
    assert caught.value.code == "not_found"
    with pytest.raises(PermanentError):
        hubspot.get_line_items(["999"])


def test_markers_are_written_in_one_patch_and_read_back(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    deal_id = portal.deal()
    before = hubspot.get_deal(deal_id).last_modified
    hubspot.update_markers(
        deal_id, {"sync_status": "synced", "invoice_id": "inv-1", "invoice_number": "INV-0007"}
    )
    hubspot.mark_paid(deal_id, date(2025, 4, 1), "inv-1")
    deal = hubspot.get_deal(deal_id)
    assert deal.markers.sync_status == "synced" and deal.markers.invoice_number == "INV-0007"
    assert deal.markers.paid_status == "paid" and deal.markers.paid_date == "2025-04-01"
    assert before is not None and deal.last_modified is not None and deal.last_modified > before
    patches = [r for r in hub_sim.hubspot.requests() if r["method"] == "PATCH"]
    assert patches[0]["body"] == {
        "properties": {
            "invoice_sync_status": "synced",
            "xero_invoice_id": "inv-1",
            "xero_invoice_number": "INV-0007",
        }
    }
    with pytest.raises(PermanentError):
        hubspot.update_markers(deal_id, {"colour": "blue"})


def test_deal_with_unreadable_amount_is_rejected_naming_the_property(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    deal_id = portal.deal()
    httpx.patch(
        f"{hub_sim.hubspot_url}/_sim/hubspot/objects/deals/{deal_id}",
        json={"properties": {"amount": "abc"}},
        timeout=5,
    )
    with pytest.raises(BusinessRejection) as caught:
        hubspot.get_deal(deal_id)
    assert caught.value.details["property"] == "amount" and "amount" in caught.value.message


def test_search_pages_over_three_pages_oldest_first(hubspot: HubSpotClient, portal: Portal) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    made = [portal.deal() for _ in range(5)]
    portal.deal(stage="closedlost")
    first = hubspot.search_deals(since, "closedwon", limit=2)
    second = hubspot.search_deals(since, "closedwon", after=first.next_after, limit=2)
    third = hubspot.search_deals(since, "closedwon", after=second.next_after, limit=2)
    assert third.next_after is None
    assert [d.id for d in first.deals + second.deals + third.deals] == made


def test_rate_limit_with_retry_after_is_transient_and_pauses_the_client(
    hubspot: HubSpotClient, hub_sim: SimulatorsProcess
) -> None:
    hub_sim.hubspot.add_fault("/crm/objects/2026-09/deals", 429, headers={"Retry-After": "1"})
    with pytest.raises(TransientError) as caught:
        hubspot.get_deal("1")
    assert caught.value.retry_after == 1.0 and caught.value.status == 429
    started = time.monotonic()
    with pytest.raises(PermanentError):
        hubspot.get_deal("1")
    assert time.monotonic() - started >= 0.9


def test_server_errors_timeouts_and_drops_are_transient(hub_sim: SimulatorsProcess) -> None:
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=0.5) as client:
        hub_sim.hubspot.add_fault("/crm/objects/2026-09/deals", 502)
        with pytest.raises(TransientError) as caught:
            client.get_deal("1")
        assert caught.value.status == 502 and caught.value.code == "server_error"
        hub_sim.hubspot.add_fault("/crm/objects/2026-09/deals", 200, delay_ms=1500)
        with pytest.raises(TransientError) as slow:
            client.get_deal("1")
        assert slow.value.code == "timeout"
        hub_sim.hubspot.add_fault("/crm/objects/2026-09/deals", drop=True)
        with pytest.raises(TransientError):
            client.get_deal("1")


def test_wrong_token_is_permanent_and_never_echoed(hub_sim: SimulatorsProcess) -> None:
    with (
        HubSpotClient(hub_sim.hubspot_url, "pat-wrong-token") as client,
        pytest.raises(PermanentError) as caught,
    ):
        client.get_deal("1")
    assert caught.value.code == "unauthorized" and "pat-wrong-token" not in str(caught.value.to_dict())
    assert "pat-wrong-token" not in repr(client)
    recorded = hub_sim.hubspot.requests()[-1]
    assert recorded["headers"]["Authorization"] == "***"


def test_setup_creates_the_custom_properties_once(
    hub_sim: SimulatorsProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN) as client:
        created = client.ensure_app_properties()
        assert "invoice_sync_status" in created and "payment_terms_days" in created
        assert client.ensure_app_properties() == []  # 409 "already exists" counts as done
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", HUBSPOT_TOKEN)
    assert hubspot_module.main(["setup", "--base-url", hub_sim.hubspot_url]) == 0
    assert "all properties exist" in capsys.readouterr().out
    names = set(hub_sim.hubspot.state()["properties"]["deals"])
    assert {p.name for p in hubspot_module.APP_PROPERTIES} == names


def test_markers_need_the_custom_properties(hub_sim: SimulatorsProcess, hubspot: HubSpotClient) -> None:
    portal = Portal(hub_sim)
    deal_id = portal.deal()
    with pytest.raises(BusinessRejection) as caught:
        hubspot.update_markers(deal_id, {"sync_status": "in_progress"})
    assert "invoice_sync_status" in caught.value.message


# --- the deal snapshot: one GraphQL read where the portal has it, REST where it does not ---


def _api(hub_sim: SimulatorsProcess) -> list[str]:
    return [f"{r['method']} {r['path'].split('?')[0]}" for r in hub_sim.hubspot.requests()]


def test_deal_snapshot_reads_deal_lines_company_and_contact_in_one_graphql_call_equal_to_the_rest_reads(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    hubspot.ensure_app_properties()
    deal_id = portal.deal(payment_terms_days="45")
    hubspot.update_markers(deal_id, {"sync_status": "in_progress", "transaction_id": "deal-x"})
    hub_sim.hubspot.clear_requests()

    snapshot = hubspot.get_deal_snapshot(deal_id)

    assert _api(hub_sim) == ["POST /collector/graphql"]
    deal = hubspot.get_deal(deal_id)
    assert snapshot.deal == deal  # markers, money, dates and associations alike
    assert snapshot.line_items == tuple(hubspot.get_line_items(deal.line_item_ids))
    assert snapshot.line_items[0].unit_price == Decimal("1250.50")  # exact, though GraphQL sends numbers
    company = hubspot.get_company(deal.company_ids[0])
    assert snapshot.company == company.model_copy(update={"email": None})
    assert snapshot.first_contact == hubspot.get_person(deal.contact_ids[0])


def test_portal_without_graphql_falls_back_to_rest_and_stops_asking_for_an_hour(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess, caplog: pytest.LogCaptureFixture
) -> None:
    hub_sim.hubspot.config(graphql=False)  # a Starter hub, or a private app without the GraphQL scope
    deal_id = portal.deal()
    hub_sim.hubspot.clear_requests()

    first = hubspot.get_deal_snapshot(deal_id)
    second = hubspot.get_deal_snapshot(deal_id)

    assert first == second and first.deal == hubspot.get_deal(deal_id)
    assert first.line_items is None and first.company is None  # the saga reads them when it needs them
    assert _api(hub_sim) == ["POST /collector/graphql", f"GET /crm/objects/2026-09/deals/{deal_id}",
                             f"GET /crm/objects/2026-09/deals/{deal_id}", f"GET /crm/objects/2026-09/deals/{deal_id}"]
    assert "GraphQL unavailable" in caplog.text and "MISSING_SCOPES" in caplog.text
    assert HUBSPOT_TOKEN not in caplog.text


def test_rest_setting_never_tries_graphql(portal: Portal, hub_sim: SimulatorsProcess) -> None:
    deal_id = portal.deal()
    hub_sim.hubspot.clear_requests()
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0, deal_read="rest") as client:
        assert client.get_deal_snapshot(deal_id).line_items is None
    assert _api(hub_sim) == [f"GET /crm/objects/2026-09/deals/{deal_id}"]


def test_graphql_query_the_portal_refuses_falls_back_to_rest(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    # A portal whose schema differs from the query (a property renamed, a type changed): a 200 with errors.
    deal_id = portal.deal()
    hub_sim.hubspot.add_fault("/collector/graphql", 200, method="POST", times=1, body={
        "data": None, "errors": [{"message": "Validation error of type FieldUndefined: Field 'xero_invoice_url' "
                                              "in type 'deal' is undefined"}]})
    hub_sim.hubspot.clear_requests()
    snapshot = hubspot.get_deal_snapshot(deal_id)
    assert snapshot.deal.id == deal_id and snapshot.line_items is None
    assert _api(hub_sim) == ["POST /collector/graphql", f"GET /crm/objects/2026-09/deals/{deal_id}"]


def test_unknown_deal_in_graphql_is_a_permanent_not_found(hubspot: HubSpotClient, portal: Portal) -> None:
    hubspot.ensure_app_properties()
    with pytest.raises(PermanentError) as caught:
        hubspot.get_deal_snapshot("999")
    assert caught.value.code == "not_found"


def test_rate_limited_graphql_read_is_transient_and_keeps_using_graphql(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    hubspot.ensure_app_properties()
    deal_id = portal.deal()
    hub_sim.hubspot.add_fault("/collector/graphql", 429, method="POST", times=1, headers={"Retry-After": "0"})
    with pytest.raises(TransientError):
        hubspot.get_deal_snapshot(deal_id)
    hub_sim.hubspot.clear_requests()
    assert hubspot.get_deal_snapshot(deal_id).line_items is not None
    assert _api(hub_sim) == ["POST /collector/graphql"]


def test_bad_line_item_data_read_over_graphql_is_a_business_rejection_naming_the_property(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    hubspot.ensure_app_properties()
    deal_id = portal.deal()
    item = hubspot.get_deal(deal_id).line_item_ids[0]
    portal.http.patch(f"/_sim/hubspot/objects/line_items/{item}", json={"properties": {"quantity": "0"}})
    with pytest.raises(BusinessRejection) as caught:
        hubspot.get_deal_snapshot(deal_id)
    assert "quantity" in str(caught.value) and caught.value.code == "invalid_property"


def _big_deal(portal: Portal, lines: int) -> tuple[str, list[str]]:
    company = portal.create("companies", {"name": "Big Order Ltd"})
    items = [portal.create("line_items", {"name": f"Part {n}", "quantity": "1", "price": f"{n}.25"})
             for n in range(lines)]
    deal_id = portal.create("deals", {"dealname": "Big", "dealstage": "closedwon"},
                            [(company, 5), *[(i, 19) for i in items]])
    return deal_id, items


def test_a_deal_with_more_line_items_than_one_graphql_page_is_read_to_the_end_over_graphql(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    hub_sim.hubspot.config(requests_per_10s=0)  # 100+ creates in a row
    hubspot.ensure_app_properties()
    deal_id, items = _big_deal(portal, 250)
    hub_sim.hubspot.clear_requests()
    snapshot = hubspot.get_deal_snapshot(deal_id)
    assert snapshot.line_items is not None
    assert [i.id for i in snapshot.line_items] == items and list(snapshot.deal.line_item_ids) == items
    assert sum(i.unit_price for i in snapshot.line_items) == sum(Decimal(f"{n}.25") for n in range(250))
    assert _api(hub_sim) == ["POST /collector/graphql"] * 3  # 100 + 100 + 50


@pytest.mark.parametrize("graphql", [False, True])
def test_a_deal_with_more_line_items_than_one_page_is_read_to_the_end_over_rest(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess, graphql: bool
) -> None:
    hub_sim.hubspot.config(requests_per_10s=0, graphql=graphql)
    hubspot.ensure_app_properties()
    deal_id, items = _big_deal(portal, 1210)  # more than 2 pages of the associations endpoint (500)
    if graphql:  # a portal whose GraphQL refuses the paging query: this deal is read over REST
        hub_sim.hubspot.add_fault("/collector/graphql", 200, skip=1, body={"errors": [{"message": "no offset"}]})
    hub_sim.hubspot.clear_requests()
    deal = hubspot.get_deal(deal_id)
    assert list(deal.line_item_ids) == items
    lines = hubspot.get_line_items(deal.line_item_ids)
    assert [i.id for i in lines] == items
    assert [r for r in _api(hub_sim) if "associations" in r] == [
        f"GET /crm/objects/2026-09/deals/{deal_id}/associations/line_items"] * 3
    assert _api(hub_sim).count("POST /crm/objects/2026-09/line_items/batch/read") == 13
    if graphql:
        hub_sim.hubspot.clear_requests()
        assert hubspot.get_deal_snapshot(deal_id).line_items is None  # read over REST after the refusal
        assert _api(hub_sim)[:3] == ["POST /collector/graphql", "POST /collector/graphql",
                                     f"GET /crm/objects/2026-09/deals/{deal_id}"]


def test_company_without_a_name_does_not_stop_the_graphql_read_only_a_new_customer_needs_it(
    hubspot: HubSpotClient, portal: Portal
) -> None:
    hubspot.ensure_app_properties()
    deal_id = portal.deal()
    company_id = hubspot.get_deal(deal_id).company_ids[0]
    portal.http.patch(f"/_sim/hubspot/objects/companies/{company_id}", json={"properties": {"name": ""}})
    snapshot = hubspot.get_deal_snapshot(deal_id)
    assert snapshot.company is None and snapshot.line_items is not None  # as over REST: read when needed
    with pytest.raises(BusinessRejection):
        hubspot.get_company(company_id)


@pytest.mark.parametrize("read", ["rest", "graphql"])
def test_the_company_invoiced_is_the_deals_primary_company_not_a_reseller_associated_with_it(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess, read: str
) -> None:
    hubspot.ensure_app_properties()
    hub_sim.hubspot.config(graphql=read == "graphql")
    reseller = portal.create("companies", {"name": "Reseller GmbH"})  # the lower id: first by id
    customer = portal.create("companies", {"name": "End Customer AG"})
    item = portal.create("line_items", {"name": "Licence", "quantity": "1", "price": "10"})
    deal_id = portal.create("deals", {"dealname": "Via reseller", "dealstage": "closedwon"},
                            [(reseller, 341), (customer, 5), (item, 19)])
    snapshot = hubspot.get_deal_snapshot(deal_id)
    assert snapshot.deal.company_ids == (customer, reseller)
    assert hubspot.get_deal(deal_id).company_ids[0] == customer
