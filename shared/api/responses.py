"""The plain response type HTTP handlers return, and the JSON error shape every endpoint uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ApiResponse:
    """What a blueprint turns into an ``HttpResponse``; kept free of Azure types so handlers are testable."""

    status: int
    body: str = ""
    mimetype: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, json.dumps(payload, default=str, ensure_ascii=False), "application/json",
                       {"Cache-Control": "no-store", **(headers or {})})


def error_response(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> ApiResponse:
    """``{"error": code, "message": human text}`` with the right 4xx/5xx status."""
    return json_response(status, {"error": error, "message": message}, headers)
