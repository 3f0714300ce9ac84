"""The ``Idempotency-Key`` replay store: a repeated key answers the first answer again and changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

__all__ = ["ReplayStore"]

MAX_KEY_LENGTH = 128


class ReplayStore:
    """The first answer to each (scope, key): a repeat, even with another body, replays it (Xero's behaviour)."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}

    async def once(
        self,
        request: web.Request,
        scope: str,
        create: Callable[[], Awaitable[web.Response]],
        too_long: Callable[[], web.Response],
    ) -> web.Response:
        """Run ``create`` once per ``Idempotency-Key`` within ``scope`` (a tenant); a request without one always runs.

        ``too_long()`` is the vendor's refusal of a key over 128 characters.
        """
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return await create()
        if len(key) > MAX_KEY_LENGTH:
            return too_long()
        slot = (scope, key)
        stored = self.answers.get(slot)
        if stored is not None:
            return web.Response(body=stored["body"], status=stored["status"], content_type="application/json")
        response = await create()
        body = response.body if isinstance(response.body, bytes) else b""
        self.answers[slot] = {
            "status": response.status,
            "body": body,
            "method": request.method,
            "path": request.path,
            "request_sha256": hashlib.sha256(await request.read()).hexdigest(),
        }
        return response

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {"tenant": scope, "key": key, "status": v["status"], "method": v["method"], "path": v["path"]}
            for (scope, key), v in self.answers.items()
        ]
