"""Signed webhook POSTs from the simulators: each vendor's signature headers and the retried delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from shared.connectors.hubspot_webhooks import sign_v3
from shared.connectors.xero_webhooks import sign

__all__ = ["Signer", "deliver", "hubspot_v3_headers", "xero_headers"]

# ``signer(attempt)``: the body and headers of attempt number ``attempt`` (from 0). HubSpot's body changes
# per attempt (``attemptNumber``), so each attempt is built and signed again.
Signer = Callable[[int], tuple[bytes, dict[str, str]]]


def hubspot_v3_headers(secret: str, url: str, body: bytes, stamp_ms: int) -> dict[str, str]:
    """The headers of a HubSpot webhook POST signed with v3 at ``stamp_ms`` (epoch milliseconds)."""
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": str(stamp_ms),
        "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, stamp_ms),
    }


def xero_headers(key: str, body: bytes) -> dict[str, str]:
    """The headers of a Xero webhook POST: the body's HMAC in ``x-xero-signature``."""
    return {"Content-Type": "application/json", "x-xero-signature": sign(key, body)}


async def deliver(
    url: str,
    signer: Signer,
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    deadline: float = 5.0,
) -> dict[str, Any]:
    """POST what ``signer(attempt)`` gives to ``url`` until a 2xx answer or ``attempts`` run out; the outcome.

    Non-2xx answers and connection errors are retried (the vendors retry too); 5 s is the
    vendors' answer deadline.
    """
    outcome: dict[str, Any] = {"url": url, "attempts": 0, "status": None, "error": None}
    client_timeout = aiohttp.ClientTimeout(total=deadline)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        for attempt in range(attempts):
            outcome["attempts"] = attempt + 1
            try:
                data, headers = signer(attempt)
                async with session.post(url, data=data, headers=headers) as response:
                    outcome["status"] = response.status
                    outcome["response_text"] = (await response.text())[:1000]
                    outcome["error"] = None
                    if 200 <= response.status < 300:
                        return outcome
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcome["error"] = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(backoff * (2**attempt))
    return outcome
