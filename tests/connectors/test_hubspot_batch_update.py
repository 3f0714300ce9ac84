"""The HubSpot connector's batch update of deal markers against the simulator: all or nothing, refusals named."""

from __future__ import annotations

import pytest

from shared.connectors.hubspot import HubSpotClient
from shared.connectors.ports import BatchCrmUpdates
from shared.domain.errors import BusinessRejection
from simulators.testing import SimulatorsProcess
from tests.connectors.test_hubspot_connector import Portal


@pytest.fixture
def portal(hub_sim: SimulatorsProcess) -> Portal:
    hub_sim.hubspot.seed("demo")
    return Portal(hub_sim)


def test_many_deals_markers_go_in_one_batch_update(hubspot: HubSpotClient, portal: Portal,
                                                   hub_sim: SimulatorsProcess) -> None:
    deals = [portal.deal() for _ in range(3)]
    hub_sim.hubspot.clear_requests()
    assert isinstance(hubspot, BatchCrmUpdates)
    hubspot.update_markers_batch({d: {"sync_status": "in_progress", "transaction_id": f"deal-{d}"} for d in deals})
    assert [(r["method"], r["path"].split("?")[0]) for r in hub_sim.hubspot.requests()] == [
        ("POST", f"/crm/objects/{hubspot.api_version}/deals/batch/update")]
    assert [hubspot.get_deal(d).markers.transaction_id for d in deals] == [f"deal-{d}" for d in deals]


def test_a_deleted_deal_refuses_the_whole_batch_and_is_named(hubspot: HubSpotClient, portal: Portal) -> None:
    deals = [portal.deal() for _ in range(3)]
    assert portal.http.delete(f"/crm/objects/2026-09/deals/{deals[1]}").status_code == 204
    with pytest.raises(BusinessRejection) as caught:
        hubspot.update_markers_batch({d: {"sync_status": "in_progress"} for d in deals})
    assert caught.value.code == "batch_rejected" and caught.value.details["ids"] == [deals[1]]
    assert hubspot.get_deal(deals[0]).markers.sync_status == ""  # nothing was written


def test_a_refused_value_refuses_the_whole_batch_without_naming_the_deal(hubspot: HubSpotClient, portal: Portal,
                                                                       hub_sim: SimulatorsProcess) -> None:
    deals = [portal.deal() for _ in range(2)]
    hub_sim.hubspot.config(validation_rules=[{"objectType": "deals", "property": "dealtype",
                                              "when": {"invoice_sync_status": "synced"}}])
    with pytest.raises(BusinessRejection) as caught:
        hubspot.update_markers_batch({d: {"sync_status": "synced"} for d in deals})
    assert caught.value.code == "batch_rejected" and caught.value.details["ids"] == []
    assert "dealtype" in caught.value.message
