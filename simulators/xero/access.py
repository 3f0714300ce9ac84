"""What Xero checks before a handler runs: the bearer token, tenant, scopes and the rate limits."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.ratelimit import Window
from simulators.wire import json_response
from simulators.xero.identity import required_scopes
from simulators.xero.schema import API
from simulators.xero.state import XeroStore

__all__ = ["MAX_IDS", "XeroAccess"]

# Xero's guidance is about 50 ids per ``IDs=`` list: longer lists make a URL its servers refuse. What the
# refusal looks like is not documented; 414 URI Too Long (before auth and limits, as a front server would
# answer) is this simulator's unconfirmed guess. Receivers must split their lists, whatever the status.
MAX_IDS = 50
ID_LISTS = ("IDs", "ContactIDs", "InvoiceNumbers")


class XeroAccess(XeroStore):
    """Authentication, tenant and scope checks, then the minute, day, app and concurrency limits per tenant."""

    async def admit(self, request: web.Request) -> tuple[web.StreamResponse | None, Any]:
        if not request.path.startswith(API):
            return None, lambda: None
        cap = int(self.config.get("max_ids") or MAX_IDS)
        if any(len(request.query.get(name, "").split(",")) > cap for name in ID_LISTS):
            return self.problem(414, "URI Too Long", f"at most {cap} ids per list"), lambda: None
        grant = self.identity.bearer(request)
        if grant is None:
            response = self.problem(401, "Unauthorized", "AuthenticationUnsuccessful")
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response, lambda: None
        tenant = request.headers.get("xero-tenant-id", "")
        allowed = self.config.get("tenant_ids")
        connected = {c.tenant_id for c in self.identity.connections if c.chain == grant.chain}
        if not tenant or (allowed and tenant not in allowed) or (grant.chain is not None and tenant not in connected):
            return self.problem(403, "Forbidden", "AuthorizationUnsuccessful"), lambda: None
        needed = required_scopes(request.method, request.path[len(API):])
        if needed and not needed & grant.scopes:
            # Xero answers a call outside the token's scopes like any other authorisation failure.
            return self.problem(403, "Forbidden", "AuthorizationUnsuccessful"), lambda: None
        return self._limit(request, tenant)

    def _limit(self, request: web.Request, tenant: str) -> tuple[web.StreamResponse | None, Any]:
        minute = self._minute.setdefault(
            tenant, Window(int(self.config["calls_per_minute"] or 0), self.minute_seconds)
        )
        day = self._day.setdefault(
            tenant, Window(self.calls_per_day, self.minute_seconds * 1440)
        )
        concurrent = int(self.config["max_concurrent"] or 0)
        problem, wait = None, 0.0
        if concurrent and self._in_flight.get(tenant, 0) >= concurrent:
            problem, wait = "concurrent", 1.0
        elif day.wait() > 0:
            problem, wait = "daily", day.wait()
        elif self._app.wait() > 0:
            problem, wait = "appminute", self._app.wait()
        elif minute.wait() > 0:
            problem, wait = "minute", minute.wait()
        if problem:
            self.rate_limited[problem] = self.rate_limited.get(problem, 0) + 1
            response = json_response(
                self.error_body(429, f"Rate limit exceeded: {problem}"),
                429,
                {"Retry-After": Window.retry_after(wait), "X-Rate-Limit-Problem": problem,
                 **self._remaining(minute, day)},
            )
            return response, lambda: None
        for window in (minute, day, self._app):
            window.record()
        self._in_flight[tenant] = self._in_flight.get(tenant, 0) + 1
        request["extra_headers"] = self._remaining(minute, day)

        def release() -> None:
            self._in_flight[tenant] -= 1

        return None, release

    def _remaining(self, minute: Window, day: Window) -> dict[str, str]:
        return {
            "X-MinLimit-Remaining": str(minute.remaining()),
            "X-DayLimit-Remaining": str(day.remaining()),
            "X-AppMinLimit-Remaining": str(self._app.remaining()),
        }
