"""Signed webhook deliveries for tests: the headers HubSpot (signature v3) and Xero (HMAC) send with a body."""

from __future__ import annotations

import json
import time

from shared.connectors.hubspot_webhooks import sign_v3
from shared.connectors.xero_webhooks import sign

__all__ = ["hubspot_delivery", "hubspot_headers", "now_ms", "xero_headers"]

JSON = "application/json"


def now_ms() -> int:
    """HubSpot's timestamp: epoch milliseconds."""
    return int(time.time() * 1000)


def hubspot_headers(secret: str, url: str, body: bytes, *, timestamp_ms: int | None = None) -> dict[str, str]:
    """What HubSpot sends with ``body`` POSTed to ``url``: the exact public URL is part of what it signs.

    The timestamp is now unless given (an old one makes a stale delivery the app must refuse).
    """
    ts = now_ms() if timestamp_ms is None else timestamp_ms
    return {"Content-Type": JSON, "X-HubSpot-Request-Timestamp": str(ts),
            "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, ts)}


def hubspot_delivery(secret: str, url: str, events: object, *,
                     timestamp_ms: int | None = None) -> tuple[bytes, dict[str, str]]:
    """A batch of HubSpot events as JSON bytes, and the headers that sign them."""
    body = json.dumps(events).encode()
    return body, hubspot_headers(secret, url, body, timestamp_ms=timestamp_ms)


def xero_headers(key: str, body: bytes) -> dict[str, str]:
    """What Xero sends with ``body``: base64 HMAC-SHA256 of the raw bytes under the webhook key."""
    return {"Content-Type": JSON, "x-xero-signature": sign(key, body)}
