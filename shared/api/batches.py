"""The batches API: the batches of queued deal steps that started in a time window, and one batch by id."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from shared.api.responses import ApiResponse, error_response, json_response
from shared.api.transactions import BadRequest, parse_window, unavailable

# A flusher's instance id and batch number (flush-<org>-<kind>-e<epoch>-b<n>); fullmatch, so no newline.
BATCH_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
MAX_LIMIT = 500


class BatchRows(Protocol):
    def get(self, batch_id: str) -> dict[str, Any] | None: ...

    def window(self, start: datetime, end: datetime, limit: int = ...) -> tuple[list[dict[str, Any]], bool]: ...


def _limit(params: Mapping[str, str]) -> int:
    raw = params.get("limit") or "100"
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:  # "²".isdigit() is True
        raise BadRequest("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def list_batches(params: Mapping[str, str], rows: BatchRows, now: datetime) -> ApiResponse:
    try:
        start, end = parse_window(params, now)
        limit = _limit(params)
    except BadRequest as exc:
        return error_response(400, "invalid_parameter", f"{exc.parameter}: {exc}")
    try:
        items, more = rows.window(start, end, limit)
    except Exception as exc:  # storage unreachable or failing: the table SDK's errors have no common type
        return unavailable("the batch table", exc)
    return json_response(200, {"from": start.isoformat(), "to": end.isoformat(), "items": items,
                               "truncated": more, "totals": _totals(items)})


def _totals(items: list[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(int(i.get(name) or 0) for i in items) for name in ("size", "calls", "ok", "rejected", "errors")}


def get_batch(batch_id: str, rows: BatchRows) -> ApiResponse:
    if not BATCH_ID.fullmatch(batch_id):
        return error_response(400, "invalid_parameter", "id: not a batch id (flush-<org>-<kind>-e<n>-b<n>)")
    try:
        found = rows.get(batch_id)
    except Exception as exc:  # storage unreachable or failing: the table SDK's errors have no common type
        return unavailable("the batch table", exc)
    if found is None:
        return error_response(404, "not_found", f"no batch {batch_id}")
    return json_response(200, found)
