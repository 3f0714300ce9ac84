"""Liveness: the app answers, and says which of its dependencies it can reach."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from shared.api.responses import ApiResponse, json_response
from shared.config import ConfigError
from shared.connectors.xero_auth import XeroDisconnected

Check = Callable[[], None]


def health(checks: Mapping[str, Check]) -> ApiResponse:
    """200 when every check passes, 503 naming the ones that failed (without secrets or stack traces)."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
        except XeroDisconnected:
            results[name] = "disconnected: reconnect at /api/xero/connect"
        except ConfigError as exc:
            # The message names the setting or mapping entry, never its value (it may be a secret).
            results[name] = f"invalid: {exc}"
        except Exception as exc:
            results[name] = f"unreachable: {type(exc).__name__}"
        else:
            results[name] = "ok"
    healthy = all(v == "ok" for v in results.values())
    return json_response(200 if healthy else 503, {"status": "ok" if healthy else "degraded", "checks": results})
