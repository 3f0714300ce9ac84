"""Connecting a Xero Web app: /api/xero/connect, /api/xero/callback, /api/xero/disconnect, and the state people see.

The ``state`` sent to Xero's authorize page is random, single use and ten minutes long; it is kept
in the token store *and* in a cookie on the browser that started the flow, so that a callback
forged by someone else (CSRF) or replayed is refused. Tokens never reach an answer or a log.
"""

from __future__ import annotations

import html
import logging
import secrets
import time
from collections.abc import Mapping
from http.cookies import SimpleCookie
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from pydantic import SecretStr

from shared.api.responses import ApiResponse, error_response, json_response
from shared.config import Settings
from shared.connectors.xero_auth import MAPPING_SCOPES, WEB_APP_SCOPES, InvalidGrant, XeroIdentity
from shared.connectors.xero_token_store import DailyBudget, StoredConnection, TokenStore
from shared.domain.errors import SyncError, TransientError

__all__ = ["callback", "callback_url", "connect", "disconnect", "xero_state"]

log = logging.getLogger(__name__)
COOKIE = "xero_connect_state"
STATE_SECONDS = 600


class Forgets(Protocol):
    def forget(self) -> None: ...


def callback_url(settings: Settings, request_url: str) -> str:
    """The redirect URI registered with Xero: the public origin (PUBLIC_BASE_URL, else the request's)."""
    if settings.public_base_url:
        origin = settings.public_base_url.rstrip("/")
    else:
        parts = urlsplit(request_url)
        origin = f"{parts.scheme}://{parts.netloc}"
    return f"{origin}/api/xero/callback"


def _not_web_app(settings: Settings) -> ApiResponse | None:
    if settings.xero_auth_mode != "web_app":
        return error_response(409, "not_web_app", "XERO_AUTH_MODE is custom_connection: there is nothing to "
                                                  "connect here (the custom connection's credentials are settings)")
    return None


def connect(settings: Settings, store: TokenStore, request_url: str) -> ApiResponse:
    """Redirect the person to Xero's authorize page, with a fresh ``state`` kept here and in a cookie."""
    refused = _not_web_app(settings)
    if refused is not None:
        return refused
    state = secrets.token_urlsafe(32)
    store.put_state(state, time.time() + STATE_SECONDS)
    scopes = (*WEB_APP_SCOPES, *MAPPING_SCOPES) if settings.invoice_mapping.strip() else WEB_APP_SCOPES
    query = urlencode({"response_type": "code", "client_id": settings.xero_client_id.get_secret_value(),
                       "redirect_uri": callback_url(settings, request_url), "scope": " ".join(scopes),
                       "state": state})
    secure = "; Secure" if callback_url(settings, request_url).startswith("https://") else ""
    return ApiResponse(302, "", "text/plain", {
        "Location": f"{settings.xero_authorize_url}?{query}",
        "Set-Cookie": f"{COOKIE}={state}; Path=/api/xero; Max-Age={STATE_SECONDS}; HttpOnly; SameSite=Lax{secure}",
        "Cache-Control": "no-store",
    })


def _cookie_state(cookie_header: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header or "")
    except Exception:  # a malformed Cookie header is the browser's problem, not a 500
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


def _page(title: str, text: str) -> ApiResponse:
    body = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<body style='font-family:system-ui;margin:3rem'><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
            "<p><a href='status'>Back to the status page</a></p></body></html>")
    return ApiResponse(200, body, "text/html", {"Cache-Control": "no-store", "Content-Security-Policy":
                                               "default-src 'none'; style-src 'unsafe-inline'",
                                               "Set-Cookie": f"{COOKIE}=; Path=/api/xero; Max-Age=0"})


def callback(query: Mapping[str, str], cookie_header: str, settings: Settings, store: TokenStore,
             identity: XeroIdentity, tokens: Forgets | None, request_url: str) -> ApiResponse:
    """Xero sent the person back: check ``state``, exchange the code, pick the organisation, store it all."""
    refused = _not_web_app(settings)
    if refused is not None:
        return refused
    state = query.get("state", "")
    if not state or not secrets.compare_digest(state, _cookie_state(cookie_header)) or not store.take_state(
            state, time.time()):
        return error_response(400, "invalid_state", "this answer from Xero does not belong to a connect started in "
                                                    "this browser in the last 10 minutes: start again at "
                                                    "/api/xero/connect")
    if query.get("error"):
        return error_response(400, "xero_refused", f"Xero did not connect: {query['error'][:200]}")
    code = query.get("code", "")
    if not code:
        return error_response(400, "missing_code", "Xero's answer has no code: start again at /api/xero/connect")
    try:
        answer = identity.exchange_code(code, callback_url(settings, request_url))
        if not answer.refresh_token:
            return error_response(400, "no_refresh_token", "Xero granted no refresh token: the app must be a Web "
                                                           "app and the consent must include offline_access")
        granted = identity.connections(answer.access_token)
    except InvalidGrant:
        return error_response(400, "invalid_grant", "Xero refused the code (used or expired): start again at "
                                                    "/api/xero/connect")
    except TransientError as exc:
        return error_response(503, "xero_unavailable", f"{exc.message}: try again in a minute", {"Retry-After": "60"})
    except SyncError as exc:
        return error_response(502, "xero_refused", exc.message)
    organisations = [c for c in granted if c.tenantType == "ORGANISATION"]
    if settings.xero_tenant_id:
        organisations = [c for c in organisations if c.tenantId == settings.xero_tenant_id]
    if len(organisations) != 1:
        names = ", ".join(f"{c.tenantName or '?'} ({c.tenantId})" for c in granted) or "none"
        return error_response(409, "choose_organisation", f"connect exactly one organisation (granted: {names}); "
                                                          "XERO_TENANT_ID chooses one of several")
    chosen = organisations[0]
    store.overwrite(StoredConnection(
        status="connected", tenant_id=chosen.tenantId, tenant_name=chosen.tenantName or "",
        refresh_token=SecretStr(answer.refresh_token), access_token=SecretStr(answer.access_token),
        access_expires_at=time.time() + answer.expires_in, refreshed_at=time.time()))
    if tokens is not None:
        tokens.forget()
    log.info("xero: connected to organisation %s", chosen.tenantId)
    return _page("Xero connected", f"Connected to {chosen.tenantName or chosen.tenantId}. Transactions waiting "
                                   "for Xero go on by themselves.")


def disconnect(settings: Settings, store: TokenStore, identity: XeroIdentity, tokens: Forgets | None) -> ApiResponse:
    """Revoke the refresh token at Xero and forget it; transactions then wait for a reconnect."""
    refused = _not_web_app(settings)
    if refused is not None:
        return refused
    conn = store.read()
    revoked = False
    if conn.refresh_token is not None:
        try:
            identity.revoke(conn.refresh_token)
            revoked = True
        except SyncError as exc:  # forgetting it here still disconnects the sync
            log.warning("xero: revocation failed: %s", exc.message)
    store.overwrite(conn.with_(status="disconnected", reason="disconnected by a person", refresh_token=None,
                               access_token=None, access_expires_at=0.0, lease_owner="", lease_until=0.0))
    if tokens is not None:
        tokens.forget()
    return json_response(200, {"status": "disconnected", "revoked_at_xero": revoked})


def xero_state(settings: Settings, store: TokenStore, budget: DailyBudget | None) -> dict[str, Any]:
    """What the status page and /api/health show about Xero (no tokens, no secrets)."""
    out: dict[str, Any] = {"mode": settings.xero_auth_mode, "calls_per_day": settings.xero_calls_per_day,
                           "calls_left_today": budget.remaining if budget else None,
                           "calls_left_seen_at": budget.seen_at if budget and budget.seen_at else None}
    if settings.xero_auth_mode == "custom_connection":
        return {**out, "status": "connected", "tenant_id": settings.xero_tenant_id, "message": "custom connection"}
    conn = store.read()
    if conn.connected:
        return {**out, "status": "connected", "tenant_id": conn.tenant_id, "tenant_name": conn.tenant_name,
                "message": f"connected to {conn.tenant_name or conn.tenant_id}"}
    reason = conn.reason or "never connected"
    return {**out, "status": "disconnected", "tenant_id": conn.tenant_id, "tenant_name": conn.tenant_name,
            "message": f"Xero disconnected: reconnect at /api/xero/connect ({reason}); transactions wait meanwhile"}
