"""HubSpot's date-based API versions: the connector calls only them, the simulator serves them and refuses the rest."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime

import httpx
import pytest

from shared.connectors.hubspot import USER_AGENT, HubSpotClient
from shared.domain.errors import BusinessRejection, PermanentError
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
        crm.search_deals(datetime(2020, 1, 1, tzinfo=UTC), "closedwon")
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


RULE = {"objectType": "deals", "property": "dealtype", "when": {"invoice_sync_status": "synced"}}


def test_a_portal_rule_that_refuses_the_write_back_is_a_business_error_naming_the_property(
    hub_sim: SimulatorsProcess,
) -> None:
    hub_sim.hubspot.config(validation_rules=[RULE])
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0) as crm:
        crm.ensure_app_properties()
        deal = create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN)
        crm.update_markers(deal.deal_id, {"sync_status": "in_progress"})  # the rule does not apply: accepted
        hub_sim.hubspot.clear_requests()
        with pytest.raises(BusinessRejection) as refused:
            crm.update_markers(deal.deal_id, {"sync_status": "synced", "invoice_id": "inv-1"})
    assert refused.value.code == "validation" and refused.value.details["properties"] == ["dealtype"]
    assert "dealtype is required by a validation rule" in str(refused.value)
    assert len(hub_sim.hubspot.requests()) == 1  # refused once, not retried
    assert hub_sim.hubspot.state()["objects"]["deals"][deal.deal_id]["properties"]["invoice_sync_status"] == (
        "in_progress")
    # Portal rules are a 2026-09 difference: an app still on 2026-03 is not held to them.
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0, api_version="2026-03") as old:
        old.update_markers(deal.deal_id, {"sync_status": "synced"})


@pytest.mark.parametrize(("version", "status"), [("2026-09", 200), ("2026-03", 207)])
def test_a_batch_read_with_a_missing_record_names_it_whether_errors_come_inline_or_as_207(
    hub_sim: SimulatorsProcess, version: str, status: int
) -> None:
    deal = create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None)
    with (HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0, api_version=version) as crm,
          pytest.raises(PermanentError) as missing):
        crm.get_line_items([deal.line_item_ids[0], "999999999"])
    assert missing.value.code == "not_found" and missing.value.details["ids"] == ["999999999"]
    [answer] = [r for r in hub_sim.hubspot.requests() if r["path"].endswith("/line_items/batch/read")]
    assert answer["status"] == status
    body = json.loads(answer["response_text"])
    assert body["numErrors"] == 1 and body["errors"][0]["category"] == "OBJECT_NOT_FOUND"


def test_property_values_are_checked_by_type_as_hubspot_does(hub_sim: SimulatorsProcess) -> None:
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0) as crm:
        crm.ensure_app_properties()
    deal = create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN)
    with httpx.Client(base_url=hub_sim.hubspot_url, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}) as http:
        def patch(props: dict[str, str]) -> httpx.Response:
            return http.patch(f"/crm/objects/2026-09/deals/{deal.deal_id}", json={"properties": props})

        for props, code in (({"invoice_paid_date": "not-a-date"}, "INVALID_DATE"),
                            ({"invoice_paid_date": "2026-12-01T10:00:00Z"}, "INVALID_DATE"),
                            ({"closedate": "yesterday"}, "INVALID_DATETIME"),
                            ({"payment_terms_days": "thirty"}, "INVALID_DECIMAL")):
            answer = patch(props)
            assert answer.status_code == 400 and answer.json()["category"] == "VALIDATION_ERROR", props
            assert answer.json()["errors"][0]["code"] == code
            assert answer.json()["errors"][0]["context"]["propertyName"] == list(props)
        for props in ({"invoice_paid_date": "2026-12-01"}, {"invoice_paid_date": "1764547200000"},
                      {"closedate": "2026-12-01T10:00:00Z"}, {"invoice_paid_date": ""}):
            assert patch(props).status_code == 200, props


def test_repeated_query_parameters_are_read_as_one_list(hub_sim: SimulatorsProcess) -> None:
    deal = create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None)
    with httpx.Client(base_url=hub_sim.hubspot_url, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}) as http:
        answer = http.get(f"/crm/objects/2026-09/deals/{deal.deal_id}?properties=dealname&properties=amount,"
                          "deal_currency_code&associations=companies&associations=line_items").json()
    assert {"dealname", "amount", "deal_currency_code"} <= set(answer["properties"])
    assert "dealstage" not in answer["properties"]
    assert set(answer["associations"]) == {"companies", "line items"}


def test_a_bulk_update_gives_every_record_the_same_last_modified_time_and_the_search_still_sees_each_once(
    hub_sim: SimulatorsProcess,
) -> None:
    before = [create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None) for _ in range(2)]
    deals = [create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None, stage="contractsent")
             for _ in range(3)]
    with httpx.Client(base_url=hub_sim.hubspot_url, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}) as http:
        answer = http.post("/crm/objects/2026-09/deals/batch/update", json={"inputs": [
            {"id": d.deal_id, "properties": {"dealstage": "closedwon"}} for d in deals]})
    assert answer.status_code == 200 and answer.json()["numErrors"] == 0
    stamps = {r["properties"]["hs_lastmodifieddate"] for r in answer.json()["results"]}
    assert len(stamps) == 1
    deals += before + [create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None) for _ in range(2)]
    # Three deals share one timestamp across the pages of one search: each is seen once.
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0) as crm:
        found = _search_all(crm, limit=2)
    assert sorted(found) == sorted(d.deal_id for d in deals)


def _search_all(crm: HubSpotClient, *, limit: int) -> list[str]:
    """Every won deal's id, page after page of one search."""
    found: list[str] = []
    after: str | None = None
    while True:
        page = crm.search_deals(datetime(2020, 1, 1, tzinfo=UTC), "closedwon", after=after, limit=limit)
        found += [d.id for d in page.deals]
        if (after := page.next_after) is None:
            return found


def test_search_is_limited_to_five_requests_a_second_per_account_with_hubspots_429(hub_sim: SimulatorsProcess) -> None:
    body = {"filterGroups": [], "limit": 1}
    with httpx.Client(base_url=hub_sim.hubspot_url, headers={"Authorization": f"Bearer {HUBSPOT_TOKEN}"}) as http:
        answers = [http.post("/crm/objects/2026-09/deals/search", json=body) for _ in range(6)]
        assert [a.status_code for a in answers[:5]] == [200] * 5
        refused = answers[5]
        assert refused.status_code == 429
        assert {k: v for k, v in refused.json().items() if k != "correlationId"} == {
            "status": "error", "message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT",
            "policyName": "SECONDLY", "category": "RATE_LIMITS"}
        assert "Retry-After" not in refused.headers
        # Search has a limit of its own: other calls go on meanwhile.
        assert http.get("/crm/objects/2026-09/deals").status_code == 200


def test_the_connector_paces_its_searches_below_hubspots_limit(hub_sim: SimulatorsProcess) -> None:
    deals = [create_won_deal(hub_sim.hubspot_url, token=HUBSPOT_TOKEN, terms_days=None) for _ in range(12)]
    started = time.monotonic()
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0) as crm:
        found = _search_all(crm, limit=1)
    assert found == [d.deal_id for d in deals]  # 12 searches (one deal a page), no 429
    assert time.monotonic() - started >= 2.0
    assert not [r for r in hub_sim.hubspot.requests() if r["status"] == 429]
