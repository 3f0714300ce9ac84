"""JSON bodies for the simulators: exact Decimals in and out, and vendor-shaped error helpers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from shared.connectors import jsonwire

__all__ = ["json_response", "read_json"]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose numbers keep their exact digits (money is Decimal end to end)."""
    return web.Response(
        body=jsonwire.dumps(data), status=status, headers=headers, content_type="application/json"
    )


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (Decimals for non-integers), None when empty; 400 when not JSON."""
    text = await request.text()
    if not text.strip():
        return None
    try:
        return jsonwire.loads(text)
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"invalid JSON: {exc.msg}") from None
