"""Delivers signed webhooks from the simulators to a configured URL, in the background, with retries."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

__all__ = ["deliver"]


async def deliver(
    url: str,
    body: bytes,
    headers_for: Any,
    *,
    body_for: Any = None,
    attempts: int = 3,
    backoff: float = 0.5,
    deadline: float = 5.0,
) -> dict[str, Any]:
    """POST ``body`` to ``url``; ``headers_for(attempt)`` signs each attempt. Returns the outcome.

    ``body_for()``, when given, supplies the body after ``headers_for`` ran (bodies that change per attempt).

    Non-2xx answers and connection errors are retried (the vendors retry too); 5 s is the
    vendors' answer deadline.
    """
    outcome: dict[str, Any] = {"url": url, "attempts": 0, "status": None, "error": None}
    client_timeout = aiohttp.ClientTimeout(total=deadline)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        for attempt in range(attempts):
            outcome["attempts"] = attempt + 1
            try:
                headers = headers_for(attempt)
                data = body_for() if body_for is not None else body
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
