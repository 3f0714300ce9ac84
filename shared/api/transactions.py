"""The transactions API: the ledger for a time window, one transaction in full, and a person's actions."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from shared import names
from shared.api.responses import ApiResponse, error_response, json_response
from shared.api.starter import ACTIVE, DurableClient, start_unless_there
from shared.config import Settings
from shared.domain.transaction import TransactionState, check_manual, invoice_gone, is_stranded
from shared.ledger.table_ledger import InvalidContinuation, TableLedger
from shared.sync.identity import transaction_id
from shared.sync.policy import DealSyncInput, SagaPolicy

STATUSES = ("pending", "running", "completed", "compensating", "compensated", "needs_attention", "already_synced",
            "skipped")
log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=31)
# The ledger's time keys, and datetime arithmetic near year 1 or 9999, need a bounded range; no
# transaction of this app is older than 2000, and 9000 leaves room for a window after any real date.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
TX_ID = re.compile(r"deal-[A-Za-z0-9_-]{1,64}")  # fullmatch: "$" would let "deal-1\n" through


class Decisions(Protocol):
    """Where a person's decision per round is recorded once (the ledger table)."""

    def claim_decision(self, tx_id: str, round_: int, action: str, at: str) -> str | None: ...

    def release_decision(self, tx_id: str, round_: int) -> None: ...


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
    links = {"deal": f"{settings.hubspot_app_url.rstrip('/')}/contacts/{settings.hubspot_portal_id}"
                     f"/record/0-3/{state.deal_id}"}
    invoice = state.external_ids.get("invoice")
    if invoice:
        links["invoice"] = f"{settings.xero_app_url.rstrip('/')}/app/invoicing/view/{invoice}"
    return links


def new_generation_on_retry(state: TransactionState) -> bool:
    """Retry starts a new generation: after a rollback, when the orchestration itself stopped (stranded;
    its invoice, if one was made and still stands, is found by reference and reused, never duplicated), or
    when the invoice it made was voided or deleted by hand in accounting (the deal is not invoiced any more)."""
    if state.kind != "sync":
        return False  # a life event after invoicing: never a reason to invoice the deal again
    return (state.status == "compensated" or (state.status == "needs_attention" and is_stranded(state))
            or invoice_gone(state))


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
    body["actions"] = [a for a in ("retry", "compensate") if check_manual(state, a) is None]
    if new_generation_on_retry(state):
        body["actions"].append("retry")  # a deliberate new attempt: a new generation of the transaction
    return json_response(200, body)


async def act(tx_id: str, action: str, client: DurableClient, settings: Settings,
              decisions: Decisions | None = None) -> ApiResponse:
    """A person's retry or compensate. With ``decisions``, one decision per round: a second click (the
    same or the other action) on the same question gets 409, not a 202 that nothing would act on."""
    if action not in ("retry", "compensate"):
        return error_response(404, "not_found", f"unknown action {action!r}")
    if not TX_ID.fullmatch(tx_id):
        return error_response(400, "invalid_parameter", "id: not a transaction id")
    try:
        return await _act(tx_id, action, client, settings, decisions)
    except Exception as exc:  # the durable client's errors have no common type (HTTP, SDK, host)
        return unavailable("the orchestration store", exc)


async def _act(tx_id: str, action: str, client: DurableClient, settings: Settings,
               decisions: Decisions | None) -> ApiResponse:
    raw = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
    state = TransactionState.model_validate(raw) if raw else None
    if state is None:
        return error_response(404, "not_found", f"no transaction {tx_id}")
    if action == "retry" and new_generation_on_retry(state):
        # Deliberately syncing a rolled-back (or stranded) deal again: a new generation, a new id.
        new_id = transaction_id(state.deal_id, state.generation + 1)
        request = DealSyncInput(deal_id=state.deal_id, generation=state.generation + 1, trigger="manual",
                                policy=SagaPolicy.from_settings(settings),
                                after_stranded=is_stranded(state)).model_dump(mode="json")
        # Two clicks at once: the second finds the first's instance (or loses the start race): 409. A new
        # generation whose history was purged is known by its entity: never run a finished one again.
        if (await client.entity_state(names.SYNC_TRANSACTION, new_id)
                or not await start_unless_there(client, names.DEAL_SYNC, new_id, request)):
            return error_response(409, "conflict", f"{new_id} already exists")
        return json_response(202, {"id": new_id, "action": "retry", "previous": tx_id})
    reason = check_manual(state, action)
    if reason is not None:
        return error_response(409, "conflict", reason)
    info = await client.status(tx_id)
    if info is None or info.runtime_status not in ACTIVE:
        # The entity says a person is needed but no orchestration waits (it failed, was terminated, or
        # its history is gone): an event would be lost. Say so rather than pretend it was accepted.
        found = info.runtime_status if info is not None else "gone"
        return error_response(409, "conflict", f"the orchestration of {tx_id} is not running ({found}); "
                              "it cannot take this decision: see docs/operations.md")
    if decisions is not None:
        taken = await asyncio.to_thread(decisions.claim_decision, tx_id, state.round, action,
                                        datetime.now(UTC).isoformat())
        if taken is not None:
            return error_response(409, "conflict", f"{tx_id}: {taken} was already chosen for this question "
                                  f"(round {state.round}); one decision per round")
    try:
        # Named for the round the person saw: a second click cannot decide a later question.
        await client.raise_event(tx_id, names.manual_event(action, state.round), {"requested": action,
                                                                                   "round": state.round})
    except Exception:
        if decisions is not None:  # not delivered: the question is still open
            await asyncio.to_thread(decisions.release_decision, tx_id, state.round)
        raise
    return json_response(202, {"id": tx_id, "action": action})

