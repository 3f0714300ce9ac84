"""The HubSpot project in hubspot-app/ has the documented shape, and asks for exactly the scopes the connector's
calls need: a new call on a new object without its scope fails here, naming the scope and the call."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from scripts import hubspot_webhook_url
from shared.api.hubspot_life_events import LIFE_EVENT_TYPES, LIFE_PROPERTIES
from shared.api.webhooks import DEAL_EVENTS
from tests.infra.hubspot_project import (
    APP_FILE,
    OPTIONAL_SCOPES,
    PROJECT,
    WEBHOOKS_FILE,
    app_problems,
    connector_sources,
    needed_scopes,
    project_problems,
    scope_problems,
    webhooks_problems,
)


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


APP = _load(APP_FILE)
WEBHOOKS = _load(WEBHOOKS_FILE)
HSPROJECT = _load(PROJECT / "hsproject.json")


def test_the_project_files_have_the_documented_shape() -> None:
    assert project_problems(HSPROJECT) == []
    assert app_problems(APP) == []
    assert webhooks_problems(WEBHOOKS) == []
    assert APP["uid"] != WEBHOOKS["uid"], "every component's uid must be unique within the project"
    components = sorted(p.relative_to(PROJECT / "src/app").as_posix() for p in PROJECT.rglob("*-hsmeta.json"))
    assert components == ["app-hsmeta.json", "webhooks/webhooks-hsmeta.json"]


def test_the_app_is_private_with_a_static_token_and_required_scopes_only() -> None:
    config = APP["config"]
    assert (config["distribution"], config["auth"]["type"]) == ("private", "static")
    assert config["auth"]["optionalScopes"] == [] and config["auth"]["conditionallyRequiredScopes"] == []


def test_the_required_scopes_are_exactly_what_the_connectors_calls_need() -> None:
    needed, unknown = needed_scopes(connector_sources())
    assert unknown == [], "HubSpot calls whose scope cannot be worked out: teach tests/infra/hubspot_project.py"
    assert scope_problems(APP["config"]["auth"]["requiredScopes"], needed) == []
    # the derivation sees the calls it should: reads, the write-back, the property setup, GraphQL
    assert {"crm.objects.deals.write", "crm.schemas.deals.write", "crm.objects.line_items.read"} <= set(needed)
    assert set(needed) >= OPTIONAL_SCOPES


def test_graphql_stays_out_of_a_static_apps_required_scopes() -> None:
    # Required would make the app uninstallable on a hub without GraphQL; the connector falls back to REST.
    assert not OPTIONAL_SCOPES & set(APP["config"]["auth"]["requiredScopes"])


def test_a_scope_missing_from_the_app_is_named_with_the_call_that_needs_it() -> None:
    needed, _ = needed_scopes(connector_sources())
    declared = [s for s in APP["config"]["auth"]["requiredScopes"] if s != "crm.objects.deals.write"]
    [problem] = scope_problems(declared, needed)
    assert problem.startswith("missing scope crm.objects.deals.write (needed by hubspot.py:")
    assert "PATCH /crm/objects/<version>/deals/{}" in problem


def test_a_new_call_on_a_new_object_demands_its_scope() -> None:
    sources = {**connector_sources(), "hubspot_tickets.py": (
        "class T:\n"
        "    def ticket(self, ticket_id):\n"
        "        return self._http.request('GET', self._objects(f'tickets/{ticket_id}'))\n"
        "    def close(self, ticket_id):\n"
        "        return self._http.request('PATCH', self._objects(f'tickets/{ticket_id}'), json={})\n"
    )}
    needed, unknown = needed_scopes(sources)
    problems = scope_problems(APP["config"]["auth"]["requiredScopes"], needed)
    assert unknown == []
    assert [p.split(" (")[0] for p in problems] == ["missing scope crm.objects.tickets.read",
                                                     "missing scope crm.objects.tickets.write"]
    assert "hubspot_tickets.py:3 GET /crm/objects/<version>/tickets/{}" in problems[0]


def test_a_scope_no_call_needs_is_refused_too() -> None:
    needed, _ = needed_scopes(connector_sources())
    declared = [*APP["config"]["auth"]["requiredScopes"], "crm.objects.products.read", *OPTIONAL_SCOPES]
    assert scope_problems(declared, needed) == [
        "scope collector.graphql_query.execute is declared but no call needs it",
        "scope crm.objects.products.read is declared but no call needs it",
        "scope collector.graphql_query.execute is optional (GraphQL) and a static app may only declare required ones",
    ]


def test_a_request_whose_path_cannot_be_read_fails_rather_than_passing_unseen() -> None:
    sources = {"hubspot_raw.py": "def f(self, url):\n    return self._http.request('GET', url)\n"}
    unreadable = "hubspot_raw.py:2: a HubSpot request whose path the scope table cannot read"
    assert needed_scopes(sources) == ({}, [unreadable])


def test_the_webhooks_subscribe_to_exactly_the_events_the_app_handles() -> None:
    subscriptions = WEBHOOKS["config"]["subscriptions"]
    assert set(subscriptions) == {"legacyCrmObjects"}  # the app parses the classic deal.* payloads
    entries = subscriptions["legacyCrmObjects"]
    assert {e["subscriptionType"] for e in entries} == DEAL_EVENTS | LIFE_EVENT_TYPES
    assert all(e["active"] is True for e in entries)
    changes = [e for e in entries if e["subscriptionType"] == "deal.propertyChange"]
    # dealstage: wins start syncs, other stages are losses; amount: an invoiced deal changed (its lines too)
    assert {e["propertyName"] for e in changes} == {"dealstage"} | LIFE_PROPERTIES


def test_the_committed_target_url_is_a_placeholder_no_one_can_receive() -> None:
    url = WEBHOOKS["config"]["settings"]["targetUrl"]
    assert url == hubspot_webhook_url.PLACEHOLDER
    assert hubspot_webhook_url.url_problem(url) == "example.invalid is not reachable from HubSpot"


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["config"].update(distribution="marketplace"), "distribution 'marketplace' must be 'private'"),
    (lambda d: d["config"]["auth"].update(type="oauth"), "auth.type 'oauth' must be 'static'"),
    (lambda d: d["config"]["auth"].update(optionalScopes=["collector.graphql_query.execute"]),
     "auth.optionalScopes must be empty"),
    (lambda d: d.update(uid="invoice sync!"), "uid 'invoice sync!' must be 1-64 letters"),
    (lambda d: d.update(type="webhooks"), "type 'webhooks' must be 'app'"),
    (lambda d: d["config"].update(name=" Invoice sync"), "config.name must be 1-200 characters"),
])
def test_the_app_checks_name_what_is_wrong(change: Any, expected: str) -> None:
    doc = copy.deepcopy(APP)
    change(doc)
    assert any(expected in p for p in app_problems(doc)), app_problems(doc)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["config"]["subscriptions"]["legacyCrmObjects"][0].update(subscriptionType="deal.won"),
     "subscriptionType 'deal.won' is not one HubSpot offers"),
    (lambda d: d["config"]["subscriptions"]["legacyCrmObjects"][1].pop("propertyName"),
     "deal.propertyChange: propertyName goes with property changes only"),
    (lambda d: d["config"]["settings"].update(targetUrl="http://example.com/api/webhooks/hubspot"),
     "must be an https URL"),
    (lambda d: d["config"]["settings"].update(maxConcurrentRequests=True), "must be a positive integer"),
    (lambda d: d["config"]["subscriptions"].update(deals=[]), "unknown subscription group 'deals'"),
])
def test_the_webhook_checks_name_what_is_wrong(change: Any, expected: str) -> None:
    doc = copy.deepcopy(WEBHOOKS)
    change(doc)
    assert any(expected in p for p in webhooks_problems(doc)), webhooks_problems(doc)


def test_an_unknown_platform_version_is_named() -> None:
    assert project_problems({**HSPROJECT, "platformVersion": "2023.2"}) == [
        "hsproject.json: platformVersion '2023.2' is not one of ['2025.2', '2026.03', '2026.09']"]


# --- scripts/hubspot_webhook_url.py: the deploy step that writes the function app's URL ---

def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "webhooks-hsmeta.json"
    target.write_text(WEBHOOKS_FILE.read_text())
    return target


def test_the_script_writes_the_function_apps_url_and_changes_nothing_else(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    url = "https://func-dealsync-abc.azurewebsites.net/api/webhooks/hubspot"
    assert hubspot_webhook_url.main([url], path=target) == 0
    expected = WEBHOOKS_FILE.read_text().replace(hubspot_webhook_url.PLACEHOLDER, url)
    assert target.read_text() == expected
    assert webhooks_problems(json.loads(target.read_text())) == []
    assert hubspot_webhook_url.main(["--check"], path=target) == 0


def test_the_script_takes_the_url_from_the_azd_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = _copy(tmp_path)
    monkeypatch.setenv("HUBSPOT_WEBHOOK_URL", "https://sync.example.com/api/webhooks/hubspot")
    assert hubspot_webhook_url.main([], path=target) == 0
    assert hubspot_webhook_url.current_target_url(target) == "https://sync.example.com/api/webhooks/hubspot"


@pytest.mark.parametrize("url", [
    "http://func.azurewebsites.net/api/webhooks/hubspot",        # HubSpot delivers over https only
    "https://func.azurewebsites.net/api/webhooks/xero",          # the wrong receiver
    "https://func.azurewebsites.net/api/webhooks/hubspot?code=x",  # a query HubSpot would sign too
    "https://127.0.0.1/api/webhooks/hubspot",
    hubspot_webhook_url.PLACEHOLDER,
])
def test_the_script_refuses_a_url_hubspot_could_not_deliver_to(tmp_path: Path, url: str) -> None:
    target = _copy(tmp_path)
    assert hubspot_webhook_url.main([url], path=target) == 2
    assert target.read_text() == WEBHOOKS_FILE.read_text()


def test_the_check_fails_while_the_placeholder_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUBSPOT_WEBHOOK_URL", raising=False)
    target = _copy(tmp_path)
    assert hubspot_webhook_url.main(["--check"], path=target) == 1
    assert hubspot_webhook_url.main([], path=target) == 2  # no URL at all
