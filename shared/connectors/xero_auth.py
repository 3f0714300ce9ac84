"""Xero access tokens for both ways to connect: a custom connection, or a Web app with rotating refresh tokens.

Exceptions (``shared.domain.errors``), as the saga should treat them:

    TransientError  code ``auth_unavailable``: the identity service answered 5xx/429/401 or not at
                    all; the saga waits with durable timers within its deadline, it does not roll back
                    code ``xero_disconnected``: the Web app's refresh token is dead or revoked; the
                    saga waits (not counted against its deadline) until a person reconnects
    PermanentError  code ``auth``: the identity service refused the client or the scopes (400
                    ``invalid_client``, ``invalid_scope``): a setting is wrong

Scopes are Xero's granular ones (apps created since 2026-03-02 cannot ask for
the broad transactions scope): invoices and contacts, read and written. ``accounting.settings.read``
and ``accounting.payments.read`` are not needed: paid invoices are read from ``/Invoices``. An
``INVOICE_MAPPING`` adds ``accounting.settings.read`` (``MAPPING_SCOPES``): its codes are checked against
the organisation's tax rates, accounts, tracking categories, branding themes and currencies.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Protocol

import httpx
from pydantic import SecretStr, TypeAdapter, ValidationError

from shared.connectors.http_client import ServiceHttp
from shared.connectors.xero_models import TokenResponse, XeroConnection
from shared.connectors.xero_token_store import Conflict, StoredConnection, TokenStore
from shared.domain.errors import PermanentError, TransientError

__all__ = ["MAPPING_SCOPES", "SCOPES", "WEB_APP_SCOPES", "InvalidGrant", "TokenSource", "WebAppTokens",
           "XeroDisconnected", "XeroIdentity", "XeroTokenProvider"]

log = logging.getLogger(__name__)
SERVICE = "xero"
SCOPES = ("accounting.invoices", "accounting.contacts")
WEB_APP_SCOPES = ("offline_access", *SCOPES)  # offline_access: a refresh token
MAPPING_SCOPES = ("accounting.settings.read",)  # the organisation check of an INVOICE_MAPPING
# A disconnected sync looks again this often (the saga allows 200 such waits: about 16 hours).
RECONNECT_POLL_SECONDS = 300.0
_CONNECTIONS = TypeAdapter(list[XeroConnection])


class TokenSource(Protocol):
    """What ``XeroClient`` needs: a bearer token, forgetting one Xero refused, and the organisation."""

    def token(self) -> str: ...

    def invalidate(self, used: str | None = None) -> None: ...

    def tenant_id(self) -> str: ...


class InvalidGrant(PermanentError):
    """Xero refused the code or refresh token (``invalid_grant``): expired, used, or revoked."""


class XeroDisconnected(TransientError):
    """No usable Web app connection: transactions wait until a person reconnects."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Xero disconnected: reconnect at /api/xero/connect ({reason})", service=SERVICE,
                         code="xero_disconnected", retry_after=RECONNECT_POLL_SECONDS)


def _unavailable(what: str, status: int | None, retry_after: float | None = None) -> TransientError:
    return TransientError(f"Xero's identity service: {what}", service=SERVICE, code="auth_unavailable",
                          status=status, retry_after=retry_after)


class XeroIdentity:
    """Xero's identity service: token requests (client authenticated by Basic header), connections, revocation."""

    def __init__(self, http: ServiceHttp, token_url: str, client_id: SecretStr, client_secret: SecretStr, *,
                 connections_url: str = "https://api.xero.com/connections",
                 revocation_url: str = "https://identity.xero.com/connect/revocation") -> None:
        self._http = http
        self.token_url = token_url
        self.connections_url = connections_url
        self.revocation_url = revocation_url
        self.client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return f"XeroIdentity(token_url={self.token_url!r}, client_id=SecretStr('**********'))"

    def _auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.client_id.get_secret_value(), self._client_secret.get_secret_value())

    def _post(self, url: str, form: dict[str, str]) -> httpx.Response:
        try:
            # The identity service is not the tenant's API: it has no call quota to pace.
            return self._http.request("POST", url, data=form, auth=self._auth(), limited=False)
        except TransientError as exc:
            raise _unavailable(exc.message, exc.status, exc.retry_after) from None

    def request_token(self, form: dict[str, str]) -> TokenResponse:
        response = self._post(self.token_url, form)
        if response.status_code == 200:
            try:
                return TokenResponse.model_validate(response.json())
            except (ValueError, ValidationError):
                raise _unavailable("the token answer is not a token", 200) from None
        text = ServiceHttp.error_text(response)
        if response.status_code == 400 and text == "invalid_grant":
            raise InvalidGrant(f"token request refused: {text}", service=SERVICE, code="invalid_grant", status=400)
        if response.status_code in (401, 408):
            # A short burst of 401s from the identity service is its trouble, not wrong settings:
            # Xero answers a wrong client with 400 invalid_client.
            raise _unavailable(f"answered {response.status_code}: {text}", response.status_code)
        raise PermanentError(f"token request refused ({response.status_code}): {text}", service=SERVICE,
                             code="auth", status=response.status_code)

    def client_credentials(self, scopes: tuple[str, ...] = SCOPES) -> TokenResponse:
        return self.request_token({"grant_type": "client_credentials", "scope": " ".join(scopes)})

    def exchange_code(self, code: str, redirect_uri: str) -> TokenResponse:
        return self.request_token({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh(self, refresh_token: SecretStr) -> TokenResponse:
        return self.request_token({"grant_type": "refresh_token",
                                   "refresh_token": refresh_token.get_secret_value()})

    def connections(self, access_token: str) -> list[XeroConnection]:
        try:
            response = self._http.request("GET", self.connections_url, limited=False,
                                          headers={"Authorization": f"Bearer {access_token}"})
        except TransientError as exc:
            raise _unavailable(exc.message, exc.status, exc.retry_after) from None
        if response.status_code != 200:
            raise PermanentError(f"connections: {response.status_code} {ServiceHttp.error_text(response)}",
                                 service=SERVICE, code="auth", status=response.status_code)
        try:
            return _CONNECTIONS.validate_python(response.json())
        except (ValueError, ValidationError):
            raise PermanentError("connections: unexpected answer", service=SERVICE, code="bad_response") from None

    def revoke(self, refresh_token: SecretStr) -> None:
        response = self._post(self.revocation_url, {"token": refresh_token.get_secret_value()})
        if response.status_code != 200:
            raise PermanentError(f"revocation refused ({response.status_code})", service=SERVICE, code="auth",
                                 status=response.status_code)


class XeroTokenProvider:
    """One cached access token for a custom connection (``grant_type=client_credentials``), thread-safe.

    A token is renewed ``refresh_margin`` seconds before it expires (at most a tenth of its life),
    so a call never starts with a token about to die; ``invalidate`` forces the next ``token()``
    to fetch a new one (after a 401).
    """

    def __init__(
        self,
        identity: XeroIdentity,
        tenant_id: str,
        *,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        scopes: tuple[str, ...] = SCOPES,
    ) -> None:
        self._identity = identity
        self._tenant_id = tenant_id
        self._scopes = scopes
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"XeroTokenProvider({self._identity!r})"

    def tenant_id(self) -> str:
        return self._tenant_id

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                body = self._identity.client_credentials(self._scopes)
                self.fetch_count += 1
                margin = min(self._refresh_margin, body.expires_in / 10)
                self._token = SecretStr(body.access_token)
                self._expires_at = self._clock() + body.expires_in - margin
            return self._token.get_secret_value()

    def invalidate(self, used: str | None = None) -> None:
        """Forget the cached token (only if it is still ``used``, so parallel 401s refresh once)."""
        with self._lock:
            if used is None or (self._token is not None and self._token.get_secret_value() == used):
                self._token = None


class WebAppTokens:
    """Access tokens of a Xero Web app, shared by every instance through a ``TokenStore``.

    The protocol, per refresh (one instance at a time):
    1. read the row; a live access token there is used as is (another instance refreshed);
    2. take the lease: write ``lease_owner``/``lease_until`` with the row's ETag (a conflict means
       another instance got there first: wait for its result);
    3. refresh with the stored token; the answer's new refresh token is written with the lease's
       ETag *before* its access token is used;
    4. a refresh whose answer is lost (timeout, 5xx) leaves the row as it was: the next attempt
       retries the same refresh token, which Xero accepts again for 30 minutes;
    5. ``invalid_grant`` means revoked or 60 days unused: the row says so and every call raises
       ``XeroDisconnected`` until a person reconnects.
    """

    def __init__(self, identity: XeroIdentity, store: TokenStore, *, refresh_margin: float = 120.0,
                 lease_seconds: float = 45.0, wait_seconds: float = 30.0,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self._identity = identity
        self._store = store
        self._margin = refresh_margin
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._me = secrets.token_hex(8)  # this instance, as lease owner
        self._lock = threading.Lock()  # in-process: one refresh at a time, others reuse its result
        self._cached: StoredConnection | None = None
        self._refused: str | None = None  # an access token Xero answered 401 to
        self.refresh_count = 0

    def __repr__(self) -> str:
        return f"WebAppTokens({self._identity!r}, {self._store!r})"

    def _usable(self, conn: StoredConnection) -> bool:
        token = conn.access_token.get_secret_value() if conn.access_token else None
        return (conn.connected and token is not None and token != self._refused
                and conn.access_expires_at - self._margin > self._clock())

    def tenant_id(self) -> str:
        with self._lock:
            conn = self._cached if self._cached is not None else self._store.read()
        if not conn.connected:
            raise XeroDisconnected(conn.reason or "not connected yet")
        return conn.tenant_id

    def token(self) -> str:
        with self._lock:
            if self._cached is None or not self._usable(self._cached):
                self._cached = self._current()
            assert self._cached.access_token is not None
            return self._cached.access_token.get_secret_value()

    def invalidate(self, used: str | None = None) -> None:
        with self._lock:
            self._refused = used
            self._cached = None

    def forget(self) -> None:
        """Drop the process's copy (after a connect or disconnect wrote the row)."""
        with self._lock:
            self._cached, self._refused = None, None

    def _current(self) -> StoredConnection:
        give_up = self._clock() + self._wait
        while True:
            conn = self._store.read()
            if not conn.connected:
                raise XeroDisconnected(conn.reason or "not connected yet")
            if self._usable(conn):
                return conn
            now = self._clock()
            if conn.lease_until > now and conn.lease_owner != self._me:
                if now >= give_up:
                    raise _unavailable("another instance is still refreshing the token", None, 5.0)
                self._sleep(0.1)
                continue
            try:
                leased = self._store.write(conn.with_(lease_owner=self._me, lease_until=now + self._lease))
            except Conflict:
                continue  # someone else took it: read their result
            return self._refresh(leased)

    def _refresh(self, leased: StoredConnection) -> StoredConnection:
        assert leased.refresh_token is not None
        try:
            answer = self._identity.refresh(leased.refresh_token)
        except InvalidGrant:
            self._disconnect(leased, "Xero refused the refresh token (invalid_grant): the connection was "
                                     "revoked in Xero or unused for 60 days")
            raise XeroDisconnected("the refresh token was refused") from None
        except TransientError:
            self._release(leased)  # same refresh token again next time: inside Xero's grace window
            raise
        if not answer.refresh_token:
            self._release(leased)
            raise PermanentError("refresh answer without a refresh token (is offline_access granted?)",
                                 service=SERVICE, code="auth")
        self.refresh_count += 1
        done = leased.with_(refresh_token=SecretStr(answer.refresh_token),
                            access_token=SecretStr(answer.access_token),
                            access_expires_at=self._clock() + answer.expires_in, lease_owner="", lease_until=0.0,
                            refreshed_at=self._clock(), refreshes=leased.refreshes + 1)
        try:
            stored = self._store.write(done)  # durable before use: a crash now loses nothing
        except Conflict:
            # The lease ran out and another instance took over with the previous token: its result wins.
            log.warning("xero: a token refresh outlived its lease; using the other instance's result")
            return self._current()
        self._refused = None
        return stored

    def _release(self, leased: StoredConnection) -> None:
        with contextlib.suppress(Conflict):
            self._store.write(leased.with_(lease_owner="", lease_until=0.0))

    def _disconnect(self, leased: StoredConnection, reason: str) -> None:
        with contextlib.suppress(Conflict):  # a conflict: a person reconnected meanwhile
            self._store.write(leased.with_(status="disconnected", reason=reason, refresh_token=None,
                                           access_token=None, access_expires_at=0.0, lease_owner="",
                                           lease_until=0.0))
        log.warning("xero: disconnected: %s", reason)
