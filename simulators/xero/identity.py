"""Xero's identity service, simulated: authorize page, token endpoint, /connections, revocation, scopes.

Decisions (documented for test writers; Xero's own behaviour where its documentation says it):
- Client authentication by ``Authorization: Basic`` or by ``client_id``/``client_secret`` in the form
  body, as Xero accepts both; anything else is ``400 {"error": "invalid_client"}``.
- Grants: ``client_credentials`` (a custom connection: access token only), ``authorization_code``
  (a Web app: with ``offline_access`` also a refresh token) and ``refresh_token``.
- Granular scopes only: ``accounting.transactions`` (and any scope not in ``GRANULAR``) is
  ``invalid_scope``, as for a Xero app created since 2026-03-02. An API call outside the token's
  scopes is ``403`` with Xero's ``AuthorizationUnsuccessful`` problem body.
- Refresh tokens rotate: each refresh answers a new one. A used token may be used again within the
  grace window (``refresh_grace`` seconds, Xero's 30 minutes) while its successor is still unused
  (the answer was lost); doing so replaces the successor, which then dies (the race Xero warns of
  when two processes refresh at once). A token unused for ``refresh_lifetime`` seconds (60 days)
  expires. Both lifetimes are divided by ``time_scale``. Every refusal is
  ``400 {"error": "invalid_grant"}``, as Xero answers.
- ``GET /identity/connect/authorize`` approves at once (no login page) and redirects to the
  ``redirect_uri`` with ``code`` and ``state``; ``POST /_sim/xero/revoke-connections`` is the user
  removing the app in Xero (every refresh token dies, access tokens too).
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from simulators.wire import json_response

__all__ = ["GRANULAR", "AccessGrant", "Identity", "required_scopes"]

GRANULAR = frozenset({
    "openid", "profile", "email", "offline_access",
    "accounting.invoices", "accounting.invoices.read",
    "accounting.contacts", "accounting.contacts.read",
    "accounting.payments", "accounting.payments.read",
    "accounting.settings", "accounting.settings.read",
    "accounting.attachments", "accounting.attachments.read",
    "accounting.reports.read", "accounting.journals.read", "accounting.budgets.read",
})
# What a custom connection is granted when its token request names no scope.
CUSTOM_CONNECTION_SCOPES = "accounting.invoices accounting.contacts accounting.settings.read"
_RESOURCES = {"Invoices": "accounting.invoices", "Contacts": "accounting.contacts",
              "Organisation": "accounting.settings", "Payments": "accounting.payments",
              "Items": "accounting.invoices", "TaxRates": "accounting.settings", "Accounts": "accounting.settings",
              "TrackingCategories": "accounting.settings", "BrandingThemes": "accounting.settings",
              "Currencies": "accounting.settings"}


def required_scopes(method: str, api_path: str) -> frozenset[str]:
    """The scopes any one of which allows ``method`` on ``api_path`` (relative to the API root)."""
    resource = api_path.strip("/").split("/", 1)[0]
    base = _RESOURCES.get(resource)
    if base is None:
        return frozenset()
    if method.upper() in ("GET", "HEAD"):
        return frozenset({base, base + ".read"})
    return frozenset({base})


@dataclass
class AccessGrant:
    expires: float
    scopes: frozenset[str]
    chain: str | None = None  # the refresh-token chain (one user's consent) it came from


@dataclass
class RefreshToken:
    chain: str
    client_id: str
    scopes: frozenset[str]
    last_used: float  # issued or last refreshed: it expires after refresh_lifetime unused
    used_at: float | None = None
    successor: str | None = None


@dataclass
class Connection:
    chain: str
    tenant_id: str
    tenant_name: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    auth_event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3])


class Identity:
    """The OAuth state of one simulated Xero: grants, codes, connections. ``config`` is the simulator's."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.access: dict[str, AccessGrant] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.connections: list[Connection] = []
        self.token_requests = 0
        self.refused: dict[str, int] = {}

    # --- clocks ---

    def _scaled(self, key: str) -> float:
        return float(self.config[key]) / float(self.config.get("time_scale") or 1.0)

    # --- answers ---

    def _refuse(self, error: str, status: int = 400) -> web.Response:
        self.refused[error] = self.refused.get(error, 0) + 1
        return json_response({"error": error}, status)

    def _client(self, request: web.Request, form: Any) -> str | None:
        """The authenticated client id, or None (Basic header or form body, as Xero accepts)."""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
        else:
            client_id, secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
        expected_id, expected_secret = self.config.get("client_id"), self.config.get("client_secret")
        if not client_id or (expected_id is not None and client_id != expected_id):
            return None
        if expected_secret is not None and secret != expected_secret:
            return None
        return client_id

    @staticmethod
    def _scopes(text: str) -> frozenset[str] | None:
        scopes = frozenset(text.split())
        return scopes if scopes <= GRANULAR else None

    def _issue(self, scopes: frozenset[str], chain: str | None, client_id: str) -> dict[str, Any]:
        lifetime = int(self.config["token_lifetime"])
        token = secrets.token_urlsafe(32)
        self.access[token] = AccessGrant(time.monotonic() + lifetime, scopes, chain)
        body: dict[str, Any] = {"access_token": token, "expires_in": lifetime, "token_type": "Bearer",
                                "scope": " ".join(sorted(scopes))}
        if chain is not None and "offline_access" in scopes:
            refresh = secrets.token_urlsafe(32)
            self.refresh[refresh] = RefreshToken(chain, client_id, scopes, time.monotonic())
            body["refresh_token"] = refresh
        return body

    # --- routes ---

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        redirect = q.get("redirect_uri", "")
        expected = self.config.get("client_id")
        if not redirect or not q.get("client_id") or (expected is not None and q["client_id"] != expected):
            return web.Response(status=400, text="unauthorized_client: unknown client or redirect_uri")
        allowed = self.config.get("redirect_uris")
        if allowed and redirect not in allowed:
            return web.Response(status=400, text="invalid_request: redirect_uri is not registered")
        scopes = self._scopes(q.get("scope", ""))
        params: dict[str, str] = {"state": q.get("state", "")}
        if q.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif scopes is None or not scopes:
            params["error"] = "invalid_scope"
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"client_id": q["client_id"], "redirect_uri": redirect, "scopes": scopes,
                                "expires": time.monotonic() + 300}
            params = {"code": code, "scope": " ".join(sorted(scopes)), **params}
        sep = "&" if "?" in redirect else "?"
        raise web.HTTPFound(f"{redirect}{sep}{urlencode(params)}")

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        client_id = self._client(request, form)
        if client_id is None:
            return self._refuse("invalid_client")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            scopes = self._scopes(str(form.get("scope") or CUSTOM_CONNECTION_SCOPES))
            if scopes is None or "offline_access" in scopes:
                return self._refuse("invalid_scope")
            return json_response(self._issue(scopes, None, client_id))
        if grant == "authorization_code":
            code = self.codes.pop(str(form.get("code") or ""), None)
            if (code is None or code["expires"] < time.monotonic() or code["client_id"] != client_id
                    or code["redirect_uri"] != form.get("redirect_uri")):
                return self._refuse("invalid_grant")
            chain = str(uuid.uuid4())
            tenants = self.config.get("tenant_ids") or [self.config["default_tenant_id"]]
            self.connections.append(Connection(chain, str(tenants[0]), str(self.config["organisation"])))
            return json_response(self._issue(code["scopes"], chain, client_id))
        if grant == "refresh_token":
            return self._refresh(str(form.get("refresh_token") or ""), client_id)
        return self._refuse("unsupported_grant_type")

    def _refresh(self, token: str, client_id: str) -> web.Response:
        now = time.monotonic()
        old = self.refresh.get(token)
        if old is None or old.client_id != client_id or now - old.last_used > self._scaled("refresh_lifetime"):
            return self._refuse("invalid_grant")
        if old.used_at is not None:
            successor = self.refresh.get(old.successor or "")
            if now - old.used_at > self._scaled("refresh_grace") or successor is None or successor.used_at:
                return self._refuse("invalid_grant")
            self.refresh.pop(old.successor or "", None)  # the lost answer's token dies: one live token
        body = self._issue(old.scopes, old.chain, client_id)
        old.used_at, old.successor = old.used_at or now, body["refresh_token"]
        return json_response(body)

    async def revocation(self, request: web.Request) -> web.Response:
        form = await request.post()
        if self._client(request, form) is None:
            return self._refuse("invalid_client")
        found = self.refresh.get(str(form.get("token") or ""))
        if found is not None:
            self.end_chain(found.chain)
        return web.Response(status=200)

    def end_chain(self, chain: str) -> None:
        """The consent is gone: its refresh and access tokens die and its connections go."""
        self.refresh = {k: v for k, v in self.refresh.items() if v.chain != chain}
        self.access = {k: v for k, v in self.access.items() if v.chain != chain}
        self.connections = [c for c in self.connections if c.chain != chain]

    def bearer(self, request: web.Request) -> AccessGrant | None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        grant = self.access.get(token)
        return grant if grant is not None and grant.expires > time.monotonic() else None

    async def list_connections(self, request: web.Request) -> web.Response:
        grant = self.bearer(request)
        if grant is None:
            return json_response({"Type": None, "Title": "Unauthorized", "Status": 401,
                                  "Detail": "AuthenticationUnsuccessful", "Extensions": {}}, 401)
        found = [c for c in self.connections if grant.chain is None or c.chain == grant.chain]
        return json_response([
            {"id": c.id, "authEventId": c.auth_event_id, "tenantId": c.tenant_id, "tenantType": "ORGANISATION",
             "tenantName": c.tenant_name, "createdDateUtc": c.created, "updatedDateUtc": c.created}
            for c in found])

    # --- admin ---

    async def admin_revoke(self, request: web.Request) -> web.Response:
        chains = {t.chain for t in self.refresh.values()} | {c.chain for c in self.connections}
        for chain in chains:
            self.end_chain(chain)
        return json_response({"revoked": len(chains)})

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "tokens_issued": self.token_requests,
            "live_tokens": sum(1 for g in self.access.values() if g.expires > now),
            "refresh_tokens_live": sum(1 for t in self.refresh.values() if t.used_at is None),
            "connections": len(self.connections),
            "token_refusals": dict(self.refused),
        }
