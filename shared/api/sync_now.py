"""``POST /api/sync``: parse the optional ``since``, start the batch, and say what Xero's daily budget covers."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from shared.api.responses import ApiResponse, error_response, json_response
from shared.application.batch_start import start_batch
from shared.application.ports import DurableClient
from shared.config import Settings
from shared.sync.budget import budget_note

log = logging.getLogger(__name__)

MAX_SYNC_BODY_BYTES = 4096  # {"since": "<ISO date>"} needs a few dozen bytes


async def sync_now(body: bytes, client: DurableClient, settings: Settings,
                   xero_calls_left: int | None = None) -> ApiResponse:
    """``POST /api/sync``: start a batch now; an optional ``{"since": "<ISO date>"}`` makes it a backfill.

    The answer says up front what Xero's daily budget (``xero_calls_left``, the latest
    ``X-DayLimit-Remaining`` seen) covers, so that a backfill larger than the day is no surprise.
    """
    if len(body) > MAX_SYNC_BODY_BYTES:
        return error_response(413, "payload_too_large", f"the body is limited to {MAX_SYNC_BODY_BYTES} bytes")
    try:
        payload = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return error_response(400, "malformed_body", 'the body must be JSON, e.g. {"since": "2026-11-01"}')
    since = payload.get("since") if isinstance(payload, dict) else None
    # An ISO date-time is at most ~35 characters; Python also parses absurdly long digit runs, so cap it.
    if not isinstance(payload, dict) or (since is not None and (not isinstance(since, str) or len(since) > 40)):
        return error_response(400, "invalid_parameter", "since: must be an ISO 8601 date")
    if since is not None:
        try:
            parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            return error_response(400, "invalid_parameter", "since: must be an ISO 8601 date")
        since = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()
    try:
        started = await start_batch(client, settings, since=since, trigger="manual")
    except Exception as exc:  # the durable client's errors have no common type (HTTP, SDK, host)
        log.warning("batch not started: %s", type(exc).__name__)
        return error_response(503, "unavailable", "the orchestration store could not be reached; try again",
                              {"Retry-After": "30"})
    if started is None:
        return error_response(409, "conflict", "a batch is already running")
    budget = budget_note(xero_calls_left, settings.xero_calls_per_day, backfill=since is not None,
                         batched=settings.batched_steps)
    return json_response(202, {"id": started, "since": since, "xero_budget": budget})
