"""Many deals' snapshots in a few HubSpot batch reads, each deal answered as its single read would answer it."""

from __future__ import annotations

import pytest

from shared.connectors.hubspot import HubSpotClient
from shared.connectors.ports import BatchCrmReads
from shared.domain.errors import BusinessRejection, PermanentError
from simulators.testing import SimulatorsProcess
from tests.connectors.test_hubspot_connector import Portal, _api
from tests.connectors.test_hubspot_connector import portal as portal  # noqa: PLC0414 - re-exported fixture


def test_many_deals_are_read_in_a_few_batch_calls_equal_to_their_single_reads(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    hubspot.ensure_app_properties()
    deals = [portal.deal(payment_terms_days="30") for _ in range(5)]
    hub_sim.hubspot.clear_requests()

    snapshots = hubspot.get_deal_snapshots(deals)

    assert isinstance(hubspot, BatchCrmReads)
    assert sorted(_api(hub_sim)) == sorted([
        "POST /crm/objects/2026-09/deals/batch/read",
        "POST /crm/associations/2026-09/deals/companies/batch/read",
        "POST /crm/associations/2026-09/deals/contacts/batch/read",
        "POST /crm/associations/2026-09/deals/line_items/batch/read",
        "POST /crm/objects/2026-09/line_items/batch/read",
        "POST /crm/objects/2026-09/companies/batch/read",
        "POST /crm/objects/2026-09/contacts/batch/read"])
    for deal_id in deals:
        got = snapshots[deal_id]
        assert not isinstance(got, Exception)
        deal = hubspot.get_deal(deal_id)
        assert got.deal == deal
        assert got.line_items == tuple(hubspot.get_line_items(deal.line_item_ids))
        assert got.company == hubspot.get_company(deal.company_ids[0])
        assert got.first_contact == hubspot.get_person(deal.contact_ids[0])


def test_a_deleted_an_unknown_and_an_unreadable_deal_are_answered_alone(
    hubspot: HubSpotClient, portal: Portal, hub_sim: SimulatorsProcess
) -> None:
    hubspot.ensure_app_properties()
    good = portal.deal()
    bad = portal.deal(deal_currency_code="euro")
    gone = portal.deal()
    assert portal.http.delete(f"/crm/objects/2026-09/deals/{gone}").status_code == 204
    bare = portal.create("deals", {"dealname": "No company", "dealstage": "closedwon"})

    snapshots = hubspot.get_deal_snapshots([good, bad, gone, "999999", bare])

    assert not isinstance(snapshots[good], Exception)
    rejected = snapshots[bad]
    assert isinstance(rejected, BusinessRejection) and "deal_currency_code" in rejected.message
    with pytest.raises(BusinessRejection) as single:
        hubspot.get_deal(bad)
    assert rejected.code == single.value.code
    for missing in (gone, "999999"):
        answer = snapshots[missing]
        assert isinstance(answer, PermanentError) and answer.code == "not_found"
    alone = snapshots[bare]
    assert not isinstance(alone, Exception) and alone.deal.company_ids == () and alone.line_items == ()


def test_the_primary_company_comes_first_and_a_bad_line_item_rejects_only_its_deal(
    hubspot: HubSpotClient, portal: Portal
) -> None:
    hubspot.ensure_app_properties()
    reseller = portal.create("companies", {"name": "Reseller GmbH"})
    customer = portal.create("companies", {"name": "End Customer AG"})
    item = portal.create("line_items", {"name": "Licence", "quantity": "1", "price": "10"})
    via = portal.create("deals", {"dealname": "Via reseller", "dealstage": "closedwon"},
                        [(reseller, 341), (customer, 5), (item, 19)])
    broken = portal.create("line_items", {"name": "Broken", "quantity": "0", "price": "10"})
    bad_lines = portal.create("deals", {"dealname": "Bad lines", "dealstage": "closedwon"},
                              [(customer, 5), (broken, 19)])

    snapshots = hubspot.get_deal_snapshots([via, bad_lines])

    first = snapshots[via]
    assert not isinstance(first, Exception) and first.deal.company_ids == (customer, reseller)
    assert first.company is not None and first.company.name == "End Customer AG"
    refused = snapshots[bad_lines]
    assert isinstance(refused, BusinessRejection) and "quantity" in refused.message
