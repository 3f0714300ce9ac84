"""The transactions API: the ledger for a time window, one transaction in full, and a person's actions."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from shared import names
from shared.api.responses import ApiResponse, error_response, json_response
from shared.application.manual_action import (
    ACTIONS,
    Decisions,
    Refused,
    available_actions,
    take_action,
)
from shared.application.ports import DurableClient
from shared.config import Settings
from shared.connectors.links import hubspot_deal_link, xero_invoice_link
from shared.domain.transaction import TransactionState
from shared.ledger.table_ledger import InvalidContinuation, TableLedger
from shared.sync.queued_status import queued_of

STATUSES = ("pending", "running", "completed", "compensating", "compensated", "needs_attention", "already_synced",
            "skipped")
log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=31)
# The ledger's time keys, and datetime arithmetic near year 1 or 9999, need a bounded range; no
# transaction of this app is older than 2000, and 9000 leaves room for a window after any real date.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
TX_ID = re.compile(r"deal-[A-Za-z0-9_-]{1,64}")  # fullmatch: "$" would let "deal-1\n" through


class BadRequest(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def _time(params: Mapping[str, str], name: str, default: datetime) -> datetime:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise BadRequest(name, f"{name} must be an ISO 8601 date or time, such as 2026-11-23T08:00:00Z") from None
    try:
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first datetime once in UTC
        value = EARLIEST - timedelta(days=1) if value.year < 2000 else LATEST + timedelta(days=1)
    if not EARLIEST <= value <= LATEST:
        raise BadRequest(name, f"{name} must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return value


def parse_window(params: Mapping[str, str], now: datetime) -> tuple[datetime, datetime]:
    end = _time(params, "to", now)
    start = _time(params, "from", end - timedelta(hours=24))
    if start > end:
        raise BadRequest("from", "from must not be later than to")
    if end - start > MAX_WINDOW:
        raise BadRequest("from", "the window may span at most 31 days")
    return start, end


def list_transactions(params: Mapping[str, str], ledger: TableLedger, now: datetime) -> ApiResponse:
    try:
        start, end = parse_window(params, now)
        status = params.get("status") or None
        if status is not None and status not in STATUSES:
            raise BadRequest("status", f"status must be one of {', '.join(STATUSES)}")
        deal = params.get("deal") or None
        if deal is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", deal):
            raise BadRequest("deal", "deal must be a CRM deal id")
        raw_limit = params.get("limit") or "50"
        if not (raw_limit.isascii() and raw_limit.isdigit()) or not 1 <= int(raw_limit) <= 500:  # "²".isdigit()
            raise BadRequest("limit", "limit must be a whole number from 1 to 500")
        try:
            page = ledger.query(start, end, status=status, deal=deal, limit=int(raw_limit),
                                continuation=params.get("continuation") or None)
        except InvalidContinuation:
            raise
        except Exception as exc:  # storage unreachable or failing: the ledger's errors have no common type
            return unavailable("the ledger", exc)
    except BadRequest as exc:
        return error_response(400, "invalid_parameter", f"{exc.parameter}: {exc}")
    except InvalidContinuation as exc:
        return error_response(400, "invalid_parameter", f"continuation: {exc}")
    return json_response(200, {
        "from": start.isoformat(), "to": end.isoformat(), "counts": page.counts,
        "total": sum(page.counts.values()), "items": page.items, "continuation": page.continuation,
    })


def _links(state: TransactionState, settings: Settings) -> dict[str, str]:
    links = {"deal": hubspot_deal_link(settings.hubspot_app_url, settings.hubspot_portal_id, state.deal_id)}
    invoice = state.external_ids.get("invoice")
    if invoice:
        links["invoice"] = xero_invoice_link(settings.xero_app_url, invoice)
    return links


def unavailable(what: str, exc: Exception) -> ApiResponse:
    """503: a store the answer needs cannot be reached; nothing was changed, the request may be repeated."""
    log.warning("%s unavailable: %s", what, type(exc).__name__)
    return error_response(503, "unavailable", f"{what} could not be reached; nothing was changed, try again",
                          {"Retry-After": "30"})


async def get_transaction(tx_id: str, client: DurableClient, settings: Settings) -> ApiResponse:
    if not TX_ID.fullmatch(tx_id):
        return error_response(400, "invalid_parameter", "id: not a transaction id (deal-<deal id>[-g<n>])")
    try:
        raw = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
    except Exception as exc:  # the durable client's errors have no common type (HTTP, SDK, host)
        return unavailable("the orchestration store", exc)
    if not raw:
        return error_response(404, "not_found", f"no transaction {tx_id}")
    state = TransactionState.model_validate(raw)
    body = state.model_dump(mode="json")
    body["links"] = _links(state, settings)
    for step in body["steps"]:
        if step.get("batch") and step["batch"].get("batch_id"):  # made in a batch: where its row is shown
            step["batch"]["href"] = f"/api/batches/{quote(str(step['batch']['batch_id']), safe='')}"
    body["queued"] = await _queued(client, state) if state.status in ("pending", "running") else None
    body["actions"] = available_actions(state)
    return json_response(200, body)


async def _queued(client: DurableClient, state: TransactionState) -> dict[str, Any] | None:
    """The batch a running deal's step waits for, from its orchestration's custom status ("queued for batch").
    Informative only: a status that cannot be read shows nothing rather than failing the answer."""
    try:
        info = await client.status(state.id)
    except Exception as exc:  # the durable client's errors have no common type (HTTP, SDK, host)
        log.warning("transaction %s: status unreadable: %s", state.id, type(exc).__name__)
        return None
    return queued_of(info.custom_status) if info is not None else None


async def act(tx_id: str, action: str, client: DurableClient, settings: Settings,
              decisions: Decisions | None = None) -> ApiResponse:
    """A person's retry or compensate. With ``decisions``, one decision per round: a second click (the
    same or the other action) on the same question gets 409, not a 202 that nothing would act on."""
    if action not in ACTIONS:
        return error_response(404, "not_found", f"unknown action {action!r}")
    if not TX_ID.fullmatch(tx_id):
        return error_response(400, "invalid_parameter", "id: not a transaction id")
    try:
        outcome = await take_action(tx_id, action, client, settings, decisions)
    except Exception as exc:  # the durable client's errors have no common type (HTTP, SDK, host)
        return unavailable("the orchestration store", exc)
    if isinstance(outcome, Refused):
        return error_response(404 if outcome.reason == "not_found" else 409, outcome.reason, outcome.message)
    return json_response(202, outcome)
