"""The HTTP plumbing both adapters share: one httpx.Client, limits, timeouts and transient-error mapping.

Exceptions raised here (see ``shared.domain.errors``):

    TransientError   429 (``retry_after`` from ``Retry-After``), any 5xx, timeouts, connection errors
    (every other status is returned to the adapter, which knows what a 400/404/409 means for it)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from shared.connectors import jsonwire
from shared.connectors.limiter import PausedTooLong, RateLimiter
from shared.domain.errors import TransientError

__all__ = ["ServiceHttp", "parse_retry_after"]

log = logging.getLogger(__name__)

def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (only the delta-seconds form: both vendors send that)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


# A 429 for a quota that resets only after hours (Xero's 5,000 calls a day; Xero's documentation says
# "day", our notes "daily"): the saga waits for the reset instead of counting the wait against its deadline.
QUOTA_PROBLEMS = frozenset({"day", "daily"})


def _rate_limit_code(problem: str) -> str:
    return "quota_exhausted" if problem.strip().lower() in QUOTA_PROBLEMS else "rate_limited"


class ServiceHttp:
    """One vendor's HTTP client: base URL, timeouts, optional limiter, transient errors raised.

    ``transport`` is httpx's seam: tests pass a recording or mock transport, production passes none.
    """

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        timeout: float,
        limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive: a call without a deadline can hang an activity")
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers=dict(headers or {}),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        limited: bool = True,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request; raise TransientError for 429/5xx/network trouble, return anything else.

        ``timeout`` (seconds) replaces the client's for this call: a batch write of 50 elements takes longer."""
        content: bytes | None = None
        send_headers = dict(headers or {})
        if json is not None:
            content = jsonwire.dumps(json)
            send_headers.setdefault("Content-Type", "application/json")
        send_headers.setdefault("Accept", "application/json")
        limiter = self.limiter if limited else None
        if limiter is not None:
            self._acquire(limiter, method, url)
        try:
            response = self._send(method, url, params=params, content=content, data=data,
                                  headers=send_headers, auth=auth, timeout=timeout)
        finally:
            if limiter is not None:
                limiter.release()
        self._raise_if_transient(response, limiter, method, url)
        log.debug("%s %s %s -> %s", self.service, method, url, response.status_code)
        return response

    def _acquire(self, limiter: RateLimiter, method: str, url: str) -> None:
        try:
            limiter.acquire()
        except PausedTooLong as paused:
            # The server's pause (e.g. Xero's daily limit) is long: wait on a durable timer, not here.
            raise TransientError(
                f"rate limited on {method} {url}: not sent, {self.service} asked to pause ({paused})",
                service=self.service, code=_rate_limit_code(paused.reason), status=429,
                retry_after=paused.seconds,
            ) from None

    def _send(self, method: str, url: str, *, params: Mapping[str, str] | None, content: bytes | None,
              data: Mapping[str, str] | None, headers: dict[str, str], auth: httpx.Auth | None,
              timeout: float | None = None) -> httpx.Response:
        """The exchange itself; timeouts and transport failures become TransientError."""
        try:
            return self._client.request(
                method,
                url,
                params=params,
                content=content,
                data=data,
                headers=headers,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                timeout=httpx.Timeout(timeout) if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TimeoutException as exc:
            raise TransientError(
                f"{method} {url} timed out ({type(exc).__name__})", service=self.service, code="timeout"
            ) from None
        except httpx.TransportError as exc:
            # The message of a transport error names the host and the failure, never headers.
            raise TransientError(
                f"{method} {url} failed: {type(exc).__name__}: {exc}", service=self.service, code="connection"
            ) from None

    def _raise_if_transient(
        self, response: httpx.Response, limiter: RateLimiter | None, method: str, url: str
    ) -> None:
        """A 429 (which also pauses the limiter for its Retry-After) or a 5xx raises TransientError."""
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            problem = response.headers.get("X-Rate-Limit-Problem", "")[:40]
            if limiter is not None and retry_after:
                limiter.pause(retry_after, problem)
            raise TransientError(
                f"rate limited on {method} {url}"
                + (f" ({problem} limit)" if problem else "")
                + f": {self.error_text(response)}",
                service=self.service,
                code=_rate_limit_code(problem),
                status=429,
                retry_after=retry_after,
            )
        if response.status_code >= 500:
            raise TransientError(
                f"{method} {url} answered {response.status_code}: {self.error_text(response)}",
                service=self.service,
                code="server_error",
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )

    @staticmethod
    def error_text(response: httpx.Response, limit: int = 500) -> str:
        """The vendor's own error message: ``message``/``Message``/``Detail`` of a JSON body, else text."""
        try:
            body = response.json()
        except ValueError:
            return response.text[:limit] or response.reason_phrase
        if isinstance(body, dict):
            for key in ("message", "Message", "Detail", "error_description", "error", "Title"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value[:limit]
        return response.text[:limit]
