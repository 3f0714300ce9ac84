"""A Xero Web app against the simulated identity service and a real token store (Azurite): connect, rotate, revoke.

Each "process" is a WebAppTokens of its own (its own lease owner, cache and lock) sharing one table,
exactly as two instances of the function app share the storage account.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from azure.data.tables import TableServiceClient
from pydantic import SecretStr

from shared.api import xero_connect
from shared.config import Settings
from shared.connectors.http_client import ServiceHttp
from shared.connectors.xero import XeroClient
from shared.connectors.xero_auth import InvalidGrant, WebAppTokens, XeroDisconnected, XeroIdentity
from shared.connectors.xero_token_store import TableTokenStore
from shared.domain.errors import TransientError
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import XERO_CLIENT_ID, XERO_CLIENT_SECRET
from tests.support.azurite import Azurite
from tests.support.settings import sample_settings

APP = "http://app.test"
TENANT = "5d1e7c3b-9a4f-4e2d-8c1b-7a6f5e4d3c2b"


@dataclass
class WebApp:
    sims: SimulatorsProcess
    settings: Settings
    store: TableTokenStore
    identity: XeroIdentity

    def tokens(self) -> WebAppTokens:
        """One more app process: its own lease owner and cache, the same store."""
        return WebAppTokens(self.identity, self.store)

    def client(self, tokens: WebAppTokens) -> XeroClient:
        return XeroClient(f"{self.sims.xero_url}/api.xro/2.0", self.identity.token_url, XERO_CLIENT_ID,
                          XERO_CLIENT_SECRET, "", timeout=10.0, tokens=tokens, identity=self.identity,
                          calls_per_minute=None)

    def connect(self, tokens: WebAppTokens | None = None, cookie: str | None = None) -> xero_connect.ApiResponse:
        """A person connecting through the browser: connect, Xero's (auto-approving) page, callback."""
        start = xero_connect.connect(self.settings, self.store, f"{APP}/api/xero/connect?code=key")
        assert start.status == 302
        sent_cookie = start.headers["Set-Cookie"].split(";")[0]
        page = httpx.get(start.headers["Location"], follow_redirects=False, timeout=10.0)
        assert page.status_code == 302, page.text
        back = urlsplit(page.headers["Location"])
        assert f"{back.scheme}://{back.netloc}{back.path}" == f"{APP}/api/xero/callback"
        query = {k: v[0] for k, v in parse_qs(back.query).items()}
        return xero_connect.callback(query, sent_cookie if cookie is None else cookie, self.settings, self.store,
                                     self.identity, tokens, page.headers["Location"])


@pytest.fixture
def web_app(sims: SimulatorsProcess, azurite: Azurite) -> Iterator[WebApp]:
    sims.xero.config(client_id=XERO_CLIENT_ID, client_secret=XERO_CLIENT_SECRET, tenant_ids=[TENANT],
                     redirect_uris=[f"{APP}/api/xero/callback"])
    values = {**sample_settings(), "AzureWebJobsStorage": azurite.connection_string, "XERO_AUTH_MODE": "web_app",
              "XERO_TENANT_ID": "", "XERO_CLIENT_ID": XERO_CLIENT_ID, "XERO_CLIENT_SECRET": XERO_CLIENT_SECRET,
              "XERO_AUTHORIZE_URL": f"{sims.xero_url}/identity/connect/authorize",
              "XERO_TOKEN_URL": f"{sims.xero_url}/connect/token",
              "XERO_CONNECTIONS_URL": f"{sims.xero_url}/connections",
              "XERO_REVOCATION_URL": f"{sims.xero_url}/connect/revocation"}
    settings = Settings(**values)  # type: ignore[arg-type]
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    store = TableTokenStore(service, "XeroTokens" + uuid.uuid4().hex[:8])
    http = ServiceHttp("xero", settings.xero_token_url, timeout=10.0)
    identity = XeroIdentity(http, settings.xero_token_url, SecretStr(XERO_CLIENT_ID), SecretStr(XERO_CLIENT_SECRET),
                            connections_url=settings.xero_connections_url,
                            revocation_url=settings.xero_revocation_url)
    yield WebApp(sims, settings, store, identity)
    http.close()


def _refreshes(sims: SimulatorsProcess) -> list[dict[str, object]]:
    return [r for r in sims.xero.requests() if r["path"] == "/connect/token" and "refresh_token" in r["body_text"]]


def test_connecting_through_xeros_page_stores_the_organisation_and_invoices_calls_carry_its_tenant_id(
    web_app: WebApp,
) -> None:
    answer = web_app.connect()
    assert answer.status == 200 and "Xero connected" in answer.body
    conn = web_app.store.read()
    assert conn.connected and conn.tenant_id == TENANT
    assert conn.refresh_token is not None and conn.refresh_token.get_secret_value() not in answer.body
    authorize = next(r for r in web_app.sims.xero.requests() if r["path"] == "/identity/connect/authorize")
    assert authorize["query"]["scope"].split() == ["offline_access", "accounting.invoices", "accounting.contacts"]
    assert "accounting.transactions" not in authorize["query"]["scope"]
    with web_app.client(web_app.tokens()) as xero:
        assert xero.find_customer("company-1") is None
    call = next(r for r in web_app.sims.xero.requests() if r["path"].startswith("/api.xro"))
    assert call["headers"]["xero-tenant-id"] == TENANT and call["status"] == 200
    state = xero_connect.xero_state(web_app.settings, web_app.store, web_app.store.read_budget())
    assert state["status"] == "connected" and state["tenant_id"] == TENANT


@pytest.mark.parametrize("cookie", ["", "xero_connect_state=someone-elses-state"])
def test_a_callback_without_the_browsers_state_cookie_is_refused_as_csrf(web_app: WebApp, cookie: str) -> None:
    answer = web_app.connect(cookie=cookie)
    assert answer.status == 400 and '"invalid_state"' in answer.body
    assert not web_app.store.read().connected


def test_a_replayed_callback_is_refused_because_the_state_is_single_use(web_app: WebApp) -> None:
    start = xero_connect.connect(web_app.settings, web_app.store, f"{APP}/api/xero/connect")
    cookie = start.headers["Set-Cookie"].split(";")[0]
    page = httpx.get(start.headers["Location"], follow_redirects=False, timeout=10.0)
    query = {k: v[0] for k, v in parse_qs(urlsplit(page.headers["Location"]).query).items()}
    first = xero_connect.callback(query, cookie, web_app.settings, web_app.store, web_app.identity, None, APP)
    again = xero_connect.callback(query, cookie, web_app.settings, web_app.store, web_app.identity, None, APP)
    assert (first.status, again.status) == (200, 400)


def test_connect_in_custom_connection_mode_is_a_clear_409(web_app: WebApp) -> None:
    settings = web_app.settings.model_copy(update={"xero_auth_mode": "custom_connection"})
    answer = xero_connect.connect(settings, web_app.store, f"{APP}/api/xero/connect")
    assert answer.status == 409 and '"not_web_app"' in answer.body


def test_refreshes_racing_in_two_processes_and_many_threads_refresh_once_and_nobody_holds_a_dead_token(
    web_app: WebApp,
) -> None:
    assert web_app.connect().status == 200
    first = web_app.store.read().refresh_token
    processes = [web_app.tokens(), web_app.tokens()]
    clients = [web_app.client(t) for t in processes]
    web_app.sims.xero.expire_tokens()  # every access token dies at once: all callers need a refresh
    errors: list[BaseException] = []

    def work(client: XeroClient) -> None:
        try:
            for _ in range(3):
                client.find_customer("company-1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(_refreshes(web_app.sims)) == 1  # one refresh served both processes and all threads
    state = web_app.sims.xero.state()
    assert state["token_refusals"] == {}
    assert web_app.store.read().refreshes == 1
    assert first is not None
    web_app.sims.xero.expire_tokens()
    clients[0].find_customer("company-1")  # a second rotation: the first token's successor is used now
    with pytest.raises(InvalidGrant):
        web_app.identity.refresh(first)  # the old refresh token is refused afterwards
    for c in clients:
        c.close()


def test_a_lost_refresh_answer_is_retried_with_the_previous_token_inside_xeros_grace(web_app: WebApp) -> None:
    assert web_app.connect().status == 200
    tokens = web_app.tokens()
    with web_app.client(tokens) as xero:
        web_app.sims.xero.expire_tokens()
        # Xero rotates the token, but the answer never arrives.
        web_app.sims.xero.add_fault("/connect/token", 504, method="POST", after=True)
        with pytest.raises(TransientError) as caught:
            xero.find_customer("company-1")
        assert caught.value.code == "auth_unavailable"
        assert web_app.store.read().connected  # nothing was lost: the stored token is retried
        assert xero.find_customer("company-1") is None
    assert web_app.sims.xero.state()["token_refusals"] == {}
    assert len(_refreshes(web_app.sims)) == 2


def test_a_revoked_connection_makes_calls_wait_as_disconnected_until_a_person_reconnects(web_app: WebApp) -> None:
    assert web_app.connect().status == 200
    tokens = web_app.tokens()
    with web_app.client(tokens) as xero:
        web_app.sims.xero._call("POST", "/_sim/xero/revoke-connections")  # the user removed the app in Xero
        with pytest.raises(XeroDisconnected) as caught:
            xero.find_customer("company-1")
        assert caught.value.code == "xero_disconnected" and caught.value.kind == "transient"
        state = xero_connect.xero_state(web_app.settings, web_app.store, None)
        assert state["status"] == "disconnected" and "reconnect" in state["message"]
        with pytest.raises(XeroDisconnected):
            xero.find_customer("company-1")  # still waiting, without asking Xero again
        assert web_app.connect(tokens).status == 200
        assert xero.find_customer("company-1") is None


def test_a_refresh_token_unused_for_60_days_is_refused_and_the_sync_shows_disconnected(web_app: WebApp) -> None:
    web_app.sims.xero.config(refresh_lifetime=60 * 86400, time_scale=60 * 86400 / 0.5)  # 60 days last 0.5 s
    assert web_app.connect().status == 200
    time.sleep(0.7)
    web_app.sims.xero.expire_tokens()
    with web_app.client(web_app.tokens()) as xero, pytest.raises(XeroDisconnected):
        xero.find_customer("company-1")
    assert web_app.sims.xero.state()["token_refusals"] == {"invalid_grant": 1}
    assert "invalid_grant" in web_app.store.read().reason


def test_disconnect_revokes_at_xero_and_the_refresh_token_is_dead(web_app: WebApp) -> None:
    assert web_app.connect().status == 200
    token = web_app.store.read().refresh_token
    assert token is not None
    answer = xero_connect.disconnect(web_app.settings, web_app.store, web_app.identity, None)
    assert answer.status == 200 and '"revoked_at_xero": true' in answer.body
    assert web_app.store.read().status == "disconnected"
    with pytest.raises(InvalidGrant):
        web_app.identity.refresh(token)
