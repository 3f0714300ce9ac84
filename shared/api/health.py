"""Liveness: the app answers, and says which of its dependencies it can reach."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from shared.api.responses import ApiResponse, json_response
from shared.config import ConfigError
from shared.connectors.xero_auth import XeroDisconnected

Check = Callable[[], None]


def _outcome(check: Check) -> str:
    try:
        check()
    except XeroDisconnected:
        return "disconnected: reconnect at /api/xero/connect"
    except ConfigError as exc:
        # The message names the setting or mapping entry, never its value (it may be a secret).
        return f"invalid: {exc}"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def health(checks: Mapping[str, Check]) -> ApiResponse:
    """200 when every check passes, 503 naming the ones that failed (without secrets or stack traces).

    The checks run side by side: each probe has its own short deadline, and the answer waits for the slowest
    one only, not for their sum."""
    with ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="health") as pool:
        futures = {name: pool.submit(_outcome, check) for name, check in checks.items()}
        results = {name: future.result() for name, future in futures.items()}
    healthy = all(v == "ok" for v in results.values())
    return json_response(200 if healthy else 503, {"status": "ok" if healthy else "degraded", "checks": results})
