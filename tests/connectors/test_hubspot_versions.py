"""HubSpot's date-based API versions: the connector calls only them, the simulator serves them and refuses the rest."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import httpx
import pytest

from shared.connectors.hubspot import USER_AGENT, HubSpotClient
from shared.domain.errors import PermanentError
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import HUBSPOT_TOKEN
from tests.support.crm_data import create_won_deal

NUMERIC = re.compile(r"/v\d+/")


def _app_calls(sims: SimulatorsProcess) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in sims.hubspot.requests()
            if r["headers"].get("User-Agent") == USER_AGENT]


def test_every_call_the_connector_makes_uses_the_configured_date_version(hub_sim: SimulatorsProcess) -> None:
    hub_sim.hubspot.config(requests_per_10s=0)
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0, deal_read="rest") as crm:
        crm.ensure_app_properties()
        deal = create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN)
        hub_sim.hubspot.clear_requests()
        read = crm.get_deal_snapshot(deal.deal_id).deal
        crm.get_line_items(read.line_item_ids)
        crm.get_company(read.company_ids[0])
        crm.get_person(read.contact_ids[0])
        list(crm.iter_deals_modified_since(datetime(2020, 1, 1, tzinfo=UTC), "closedwon"))
        crm.update_markers(deal.deal_id, {"sync_status": "in_progress"})
        crm.mark_paid(deal.deal_id, date(2026, 12, 1), "inv-1")
    calls = _app_calls(hub_sim)
    assert len(calls) >= 7, calls
    assert [c for c in calls if NUMERIC.search(c)] == []
    assert all("/2026-09/" in c for c in calls), calls


def test_numeric_version_paths_are_refused_as_hubspot_will_once_unsupported(hub_sim: SimulatorsProcess) -> None:
    deal = create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None)
    with httpx.Client(base_url=hub_sim.hubspot_url, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}) as http:
        for path in (f"/crm/v3/objects/deals/{deal.deal_id}",
                     f"/crm/v4/objects/deals/{deal.deal_id}/associations/companies", "/crm/v3/properties/deals"):
            answer = http.get(path)
            assert answer.status_code == 410, (path, answer.text)
            assert answer.json()["category"] == "API_VERSION_UNSUPPORTED"
            assert "/crm/objects/2026-09/" in answer.json()["message"]
        hub_sim.hubspot.config(numeric_versions="serve")  # a portal before the sunset
        assert http.get(f"/crm/v3/objects/deals/{deal.deal_id}").status_code == 200
        assert http.get(f"/crm/v4/objects/deals/{deal.deal_id}/associations/companies").json()["results"]
        assert http.get(f"/crm/objects/2031-01/deals/{deal.deal_id}").status_code == 404  # not a served version


def test_an_older_date_version_is_a_setting_and_a_refused_version_is_a_permanent_error(
    hub_sim: SimulatorsProcess,
) -> None:
    deal = create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None)
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0, api_version="2026-03",
                       deal_read="rest") as crm:
        assert crm.get_deal(deal.deal_id).id == deal.deal_id
    assert _app_calls(hub_sim)[-1] == f"GET /crm/objects/2026-03/deals/{deal.deal_id}"
    hub_sim.hubspot.config(api_versions=["2026-09"])  # 2026-03 no longer served
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0, api_version="2026-03",
                       deal_read="rest") as crm, pytest.raises(PermanentError):
        crm.get_deal(deal.deal_id)


@pytest.mark.parametrize("version", ["v3", "2026", "2026-9", "2026-13", "latest"])
def test_an_api_version_that_is_not_a_date_version_is_refused_at_start(version: str) -> None:
    with pytest.raises(ValueError, match="date version"):
        HubSpotClient("http://127.0.0.1:9", "t", api_version=version)
