"""Granular scopes and the identity service's answers, as a Xero app created since 2026-03-02 meets them."""

from __future__ import annotations

import httpx
import pytest

from shared.connectors.xero import XeroClient
from shared.domain.errors import PermanentError, TransientError
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import XERO_CLIENT_ID, XERO_CLIENT_SECRET, make_xero


def _token(sims: SimulatorsProcess, **form: str) -> httpx.Response:
    return httpx.post(f"{sims.xero_url}/connect/token", data=form, auth=(XERO_CLIENT_ID, XERO_CLIENT_SECRET))


def test_the_token_request_asks_for_granular_scopes_only(xero: XeroClient, xero_sim: SimulatorsProcess) -> None:
    xero.find_customer("company-1")
    [request] = [r for r in xero_sim.xero.requests() if r["path"] == "/connect/token"]
    assert "scope=accounting.invoices+accounting.contacts" in request["body_text"]
    assert "accounting.transactions" not in request["body_text"]


def test_xero_refuses_the_retired_accounting_transactions_scope(xero_sim: SimulatorsProcess) -> None:
    answer = _token(xero_sim, grant_type="client_credentials", scope="accounting.transactions accounting.contacts")
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_scope"})


def test_a_call_outside_the_tokens_scopes_is_a_403_as_xero_answers_it(xero_sim: SimulatorsProcess) -> None:
    token = _token(xero_sim, grant_type="client_credentials", scope="accounting.contacts.read").json()
    headers = {"Authorization": f"Bearer {token['access_token']}", "xero-tenant-id": "t-1"}
    base = f"{xero_sim.xero_url}/api.xro/2.0"
    assert httpx.get(f"{base}/Contacts", headers=headers).status_code == 200
    refused = httpx.put(f"{base}/Contacts", headers=headers, json={"Contacts": [{"Name": "A"}]})
    assert refused.status_code == 403 and refused.json()["Detail"] == "AuthorizationUnsuccessful"
    assert httpx.get(f"{base}/Invoices", headers=headers).status_code == 403


def test_client_authentication_in_the_form_body_is_accepted_like_the_basic_header(
    xero_sim: SimulatorsProcess,
) -> None:
    answer = httpx.post(f"{xero_sim.xero_url}/connect/token",
                        data={"grant_type": "client_credentials", "client_id": XERO_CLIENT_ID,
                              "client_secret": XERO_CLIENT_SECRET})
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"
    wrong = httpx.post(f"{xero_sim.xero_url}/connect/token",
                       data={"grant_type": "client_credentials", "client_id": XERO_CLIENT_ID, "client_secret": "x"})
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_client"})


@pytest.mark.parametrize("status", [500, 503, 401])
def test_the_token_endpoint_failing_is_transient_auth_unavailable(xero_sim: SimulatorsProcess, status: int) -> None:
    xero_sim.xero.add_fault("/connect/token", status, method="POST")
    with make_xero(xero_sim) as client, pytest.raises(TransientError) as caught:
        client.find_customer("a")
    assert caught.value.code == "auth_unavailable"


def test_the_token_endpoint_timing_out_is_transient_auth_unavailable(xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.add_fault("/connect/token", method="POST", drop=True)
    with make_xero(xero_sim) as client, pytest.raises(TransientError) as caught:
        client.find_customer("a")
    assert caught.value.code == "auth_unavailable"


def test_a_wrong_client_secret_is_permanent(xero_sim: SimulatorsProcess) -> None:
    xero_sim.xero.config(client_secret="another")
    with make_xero(xero_sim) as client, pytest.raises(PermanentError) as caught:
        client.find_customer("a")
    assert caught.value.code == "auth"


def test_every_api_answer_carries_the_days_remaining_calls_and_the_client_reads_them(
    xero_sim: SimulatorsProcess,
) -> None:
    xero_sim.xero.config(tier="starter")
    seen: list[int] = []
    with make_xero(xero_sim, on_day_remaining=seen.append) as client:
        client.find_customer("a")
        client.find_customer("b")
    assert seen == [999, 998] and client.day_remaining == 998
    assert xero_sim.xero.state()["calls_per_day"] == 1000


@pytest.mark.parametrize("mapping", ["", '{"default_tax_type": "OUTPUT"}'])
def test_the_organisation_settings_scope_is_asked_for_only_with_an_invoice_mapping(
    app_settings: dict[str, str], xero_sim: SimulatorsProcess, monkeypatch: pytest.MonkeyPatch, mapping: str,
) -> None:
    from shared.config import get_settings, reset_settings
    from tests.connectors.conftest import TENANT

    for name, value in {"XERO_BASE_URL": f"{xero_sim.xero_url}/api.xro/2.0",
                        "XERO_TOKEN_URL": f"{xero_sim.xero_url}/connect/token", "XERO_CLIENT_ID": XERO_CLIENT_ID,
                        "XERO_CLIENT_SECRET": XERO_CLIENT_SECRET, "XERO_TENANT_ID": TENANT,
                        "INVOICE_MAPPING": mapping}.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    with XeroClient.from_settings(get_settings()) as client:
        if mapping:
            assert "OUTPUT" in client.organisation_catalogue().tax_types
        else:
            with pytest.raises(PermanentError):  # a custom connection without the mapping keeps its old scopes
                client.organisation_catalogue()
    [request] = [r for r in xero_sim.xero.requests() if r["path"] == "/connect/token"]
    assert ("accounting.settings.read" in request["body_text"]) is bool(mapping)
