"""Xero client-credentials tokens: fetched at the token URL, cached, refreshed before expiry (thread-safe)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr, ValidationError

from shared.connectors.http_client import ServiceHttp
from shared.connectors.xero_models import TokenResponse
from shared.domain.errors import PermanentError

__all__ = ["XeroTokenProvider"]


class XeroTokenProvider:
    """One cached access token for a custom connection (``grant_type=client_credentials``).

    A token is renewed ``refresh_margin`` seconds before it expires (at most a tenth of its life),
    so a call never starts with a token about to die; ``invalidate`` forces the next ``token()``
    to fetch a new one (after a 401).
    """

    def __init__(
        self,
        http: ServiceHttp,
        token_url: str,
        client_id: SecretStr,
        client_secret: SecretStr,
        *,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: SecretStr | None = None
        self._expires_at = 0.0
        self.fetch_count = 0

    def __repr__(self) -> str:
        return f"XeroTokenProvider(token_url={self._token_url!r}, client_id=SecretStr('**********'))"

    def token(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token.get_secret_value()

    def invalidate(self, used: str | None = None) -> None:
        """Forget the cached token (only if it is still ``used``, so parallel 401s refresh once)."""
        with self._lock:
            if used is None or (self._token is not None and self._token.get_secret_value() == used):
                self._token = None

    def _fetch(self) -> None:
        response = self._http.request(
            "POST",
            self._token_url,
            data={"grant_type": "client_credentials"},
            auth=httpx.BasicAuth(self._client_id.get_secret_value(), self._client_secret.get_secret_value()),
            limited=False,  # the identity service is not the tenant's API and has no call quota
        )
        if response.status_code != 200:
            raise PermanentError(
                f"token request refused ({response.status_code}): {ServiceHttp.error_text(response)}",
                service="xero",
                code="auth",
                status=response.status_code,
            )
        try:
            body = TokenResponse.model_validate(response.json())
        except (ValueError, ValidationError):
            raise PermanentError("token response is not a token", service="xero", code="auth") from None
        self.fetch_count += 1
        margin = min(self._refresh_margin, body.expires_in / 10)
        self._token = SecretStr(body.access_token)
        self._expires_at = self._clock() + body.expires_in - margin
