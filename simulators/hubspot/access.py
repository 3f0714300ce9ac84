"""What HubSpot checks before a handler runs: the API version served, the bearer token, rate limits."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from simulators.hubspot.state import HubSpotStore
from simulators.wire import json_response

__all__ = ["HubSpotAccess"]


class HubSpotAccess(HubSpotStore):
    """Version, authentication and the ten-secondly and search limits, with HubSpot's refusals."""

    def check_version(self, request: web.Request) -> web.Response | None:
        """A refusal for an API version this portal does not serve, else None."""
        version = request.match_info.get("version")
        if version is None:
            return None
        served = [str(v) for v in self.config.get("api_versions") or []]
        if version.startswith("v"):
            if self.config.get("numeric_versions") == "serve":
                return None
            # HubSpot has not published the answer of a sunset path; a 410 with its usual error body
            # is what a client must treat as final (it is never retried).
            return self.fail(
                410,
                f"The /crm/{version}/ API is no longer supported. Use the date-based paths, "
                f"for example /crm/objects/{served[-1] if served else '2026-09'}/deals.",
                "API_VERSION_UNSUPPORTED",
            )
        if version not in served:
            return self.fail(404, f"Unknown API version {version} (served: {', '.join(served)})", "OBJECT_NOT_FOUND")
        return None

    async def admit(self, request: web.Request) -> tuple[web.StreamResponse | None, Any]:
        key = (request.method, request.path, request.headers.get("User-Agent", ""))
        self.path_log[key] = self.path_log.get(key, 0) + 1
        refused = self.check_version(request)
        if refused is not None:
            return refused, lambda: None
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        expected = self.config.get("access_token")
        if not token or (expected is not None and token != expected):
            return self.fail(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at https://developers.hubspot.com/"
                "docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            ), lambda: None
        if request.method == "POST" and request.path.endswith("/search") and "version" in request.match_info:
            return self.admit_search(), lambda: None
        if self._window.limit and self._window.wait() > 0:
            limit = self._window.limit
            response = json_response(
                {
                    "status": "error",
                    "message": "You have reached your ten_secondly_rolling limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "TEN_SECONDLY_ROLLING",
                    "category": "RATE_LIMITS",
                },
                429,
                {
                    "X-HubSpot-RateLimit-Max": str(limit),
                    "X-HubSpot-RateLimit-Remaining": "0",
                    "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self._window.seconds * 1000)),
                },
            )
            return response, lambda: None
        self._window.record()
        return None, lambda: None

    def admit_search(self) -> web.Response | None:
        """CRM search has its own limit, per account and apart from the ten-secondly one (HubSpot's
        spec exempts search from it): a 429 as HubSpot answers it, without Retry-After."""
        window = self._search_window
        if window.limit and window.wait() > 0:
            # HubSpot's recorded search 429s carry this message and category; that the body also names the
            # policy as SECONDLY is what secondary sources report.
            return json_response(
                {
                    "status": "error",
                    "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT",
                    "correlationId": str(uuid.uuid4()),
                    "policyName": "SECONDLY",
                    "category": "RATE_LIMITS",
                },
                429,
            )
        window.record()
        return None
