"""Starting orchestrations from triggers, deduplicated by transaction id (plain async code behind a client port)."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared import names
from shared.api.responses import ApiResponse, error_response, json_response
from shared.config import Settings
from shared.domain.transaction import TERMINAL, blocks_new_sync
from shared.sync.budget import budget_note
from shared.sync.identity import transaction_id
from shared.sync.policy import DealSyncInput, SagaPolicy

log = logging.getLogger(__name__)

ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


class InstanceInfo(Protocol):
    @property
    def runtime_status(self) -> str | None: ...

    @property
    def output(self) -> Any: ...

    @property
    def created_time(self) -> str:
        """When the instance was created (UTC, ISO 8601), or "" when the host did not say."""
        ...


class DurableClient(Protocol):
    """What starters need from the durable client; the blueprint adapts ``DurableOrchestrationClient``."""

    async def status(self, instance_id: str) -> InstanceInfo | None: ...

    async def start(self, orchestrator: str, instance_id: str, input_: Any) -> str: ...

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None: ...

    async def entity_state(self, entity: str, key: str) -> Any: ...

    async def purge_finished(self, created_before: datetime) -> int: ...

    async def ended_badly(self, instance_id_prefix: str, since: datetime) -> list[EndedBadly]: ...

    async def created_since(self, instance_id_prefix: str, since: datetime) -> list[str]:
        """The ids of instances created at or after ``since`` whose id starts with the prefix, however they stand."""
        ...


@dataclass(frozen=True)
class EndedBadly:
    """An orchestration that Failed or was Terminated, created at or after the time asked about."""

    instance_id: str
    runtime_status: str
    output: str


class StartReport(BaseModel):
    """Which instances a starter started, which it found already there, and which it must try again
    (plain JSON across activities).

    ``waiting`` maps a deal to its transaction that is still finishing without having taken this win
    in hand (it read the deal before the win, or has not read it yet): the caller tries the deal again
    once that run has ended, so the win starts the next generation instead of being swallowed.
    """

    model_config = ConfigDict(extra="forbid")

    started: list[str] = Field(default_factory=list)
    duplicates: list[str] = Field(default_factory=list)
    waiting: dict[str, str] = Field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class DealSyncStarts(BaseModel):
    """The deals one webhook delivery accepted: the input of ``webhook_batch`` and of ``start_deal_syncs``."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    deal_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]] = Field(min_length=1, max_length=100)
    trigger: str = "webhook"
    policy: SagaPolicy = Field(default_factory=SagaPolicy)  # frozen when the webhook was accepted
    accepted_at: str = ""  # when (UTC, ISO 8601): a deal's run begun since then reads the deal after these events


async def _start_unless_seen(client: DurableClient, orchestrator: str, instance_id: str, input_: Any,
                             seen: Callable[[InstanceInfo | None], bool]) -> bool:
    """Start ``instance_id`` unless ``seen`` says it is already there; True if this call started it.

    The status is read first because the host replaces a *completed* instance on a start with its id. A
    refused start is a duplicate only if the instance is there now (a concurrent trigger won the race);
    any other failure (the task hub unreachable) raises, so that the caller's retry starts it: never lost.
    """
    info = await client.status(instance_id)
    if seen(info):
        return False
    return await _start_unless_raced(client, orchestrator, instance_id, input_, seen)


async def _start_unless_raced(client: DurableClient, orchestrator: str, instance_id: str, input_: Any,
                              seen: Callable[[InstanceInfo | None], bool]) -> bool:
    """Start ``instance_id``; a refused start is a duplicate only if ``seen`` finds the instance there now."""
    try:
        await client.start(orchestrator, instance_id, input_)
    except Exception:
        if seen(await client.status(instance_id)):
            return False
        raise
    return True


async def start_unless_there(client: DurableClient, orchestrator: str, instance_id: str, input_: Any) -> bool:
    """Start ``instance_id`` unless an instance of that id exists (in any state); True if this call started it."""
    return await _start_unless_seen(client, orchestrator, instance_id, input_,
                                    lambda info: info is not None and info.runtime_status is not None)


def _counts_as_existing(info: InstanceInfo | None) -> bool:
    if info is None or info.runtime_status is None:
        return False
    output = info.output if isinstance(info.output, dict) else {}
    return info.runtime_status != "Completed" or blocks_new_sync(str(output.get("status", "")))


# Each transaction of a deal that ended without invoicing it (skipped: not won yet; compensated: bad data
# fixed since; already_synced) leaves its id to history, so a deal tried this many times is left to a person.
MAX_GENERATIONS = 20

Decision = Literal["start", "covered", "wait"]
# A finished transaction that invoiced the deal, or one a person decides (their Retry reads the deal afresh).
COVERS_THE_DEAL = frozenset({"completed", "needs_attention"})


def _live_decision(info: InstanceInfo, recorded: Any, accepted_at: str) -> Decision:
    """What a win accepted at ``accepted_at`` means for a deal whose transaction is still live.

    It is in hand when the run has not begun (``Pending``) or began after the win was accepted (it reads
    the deal afterwards), went past reading the deal (a later step was recorded: the deal was won when
    read), or waits for a person. Otherwise the run may have read the deal before the win, and would end
    ``skipped`` without it: the win waits for it to end, then starts the next generation.
    """
    if info.runtime_status == "Pending":
        return "covered"
    if accepted_at and info.created_time and _utc(info.created_time) >= _utc(accepted_at):
        return "covered"
    if not isinstance(recorded, dict):
        return "wait"  # running, nothing recorded yet
    if recorded.get("status") == "needs_attention":
        return "covered"
    if accepted_at and _utc(str(recorded.get("created_at", ""))) >= _utc(accepted_at):
        return "covered"
    steps = recorded.get("steps")
    steps = steps if isinstance(steps, list) else []
    past_load = any(isinstance(step, dict) and step.get("name") not in (None, "load") for step in steps)
    return "covered" if recorded.get("status") == "running" and past_load else "wait"


def _utc(value: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime; an unreadable one as the earliest time (never "after")."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _transaction_to_start(client: DurableClient, deal_id: str,
                                accepted_at: str = "") -> tuple[str, int, Decision]:
    """The deal's transaction a trigger acts on, and what to do: ``(id, generation, decision)``.

    The latest transaction decides, whatever earlier ones ended as: one that invoiced the deal, or waits
    for a person, or is running past its read of the deal, covers it (``covered``); one still finishing
    that may not have seen the win is waited for (``wait``); one that ended without invoicing (skipped,
    rolled back, already synced) is followed by the next generation (``start``). A finished transaction
    is never run again under its id (its entity, ledger row and history say what happened then). When an
    instance is gone (never started, or its history purged after HISTORY_RETENTION_DAYS), its entity says
    whether it existed.
    """
    for generation in range(1, MAX_GENERATIONS + 1):
        tx_id = transaction_id(deal_id, generation)
        info = await client.status(tx_id)
        if info is not None and info.runtime_status is not None:
            if info.runtime_status in ACTIVE:
                recorded = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
                return tx_id, generation, _live_decision(info, recorded, accepted_at)
            if info.runtime_status != "Completed":
                return tx_id, generation, "covered"  # failed or terminated: handed to a person (stranded)
            status = str((info.output if isinstance(info.output, dict) else {}).get("status", ""))
            if status in COVERS_THE_DEAL:
                return tx_id, generation, "covered"
            continue  # ended without invoicing the deal: the next generation
        recorded = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
        if not isinstance(recorded, dict):
            return tx_id, generation, "start"
        if str(recorded.get("status", "")) not in TERMINAL or recorded.get("status") in COVERS_THE_DEAL:
            return tx_id, generation, "covered"
    return transaction_id(deal_id, MAX_GENERATIONS), MAX_GENERATIONS, "covered"


# Deal syncs being started at once by one worker process, across all the batches it is running. A start
# is cheap for the caller but admits a whole saga; a burst of deliveries admitted all at once would crowd
# the worker's event loop, which also answers the webhooks (within HubSpot's 5 s) and runs the sagas.
START_CONCURRENCY = 1
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _start_gate() -> asyncio.Semaphore:
    """The worker's gate (one per event loop: an asyncio semaphore belongs to the loop that first waits on it)."""
    loop = asyncio.get_running_loop()
    gate = _GATES.get(loop)
    if gate is None:
        gate = _GATES[loop] = asyncio.Semaphore(START_CONCURRENCY)
    return gate


async def start_deal_syncs(client: DurableClient, deal_ids: Iterable[str], trigger: str,
                           policy: SagaPolicy, accepted_at: str = "") -> StartReport:
    """Start ``deal_sync`` for each deal whose latest transaction does not cover it; the rest are duplicates,
    or ``waiting`` for a transaction still finishing (see ``_transaction_to_start``).

    Safe to run again (activities run at least once): a deal started by an earlier run is a duplicate now.
    A start that fails for any reason other than a concurrent start of the same transaction raises, once
    every other deal has been tried, so the caller retries and no deal is lost. The report keeps the order.
    """
    gate = _start_gate()

    async def one(deal_id: str) -> tuple[str, str, Decision]:
        async with gate:
            tx_id, generation, decision = await _transaction_to_start(client, deal_id, accepted_at)
            if decision != "start":
                return deal_id, tx_id, decision
            request = DealSyncInput(deal_id=deal_id, trigger=trigger, policy=policy, generation=generation)
            started = await _start_unless_raced(client, names.DEAL_SYNC, tx_id, request.model_dump(mode="json"),
                                                _counts_as_existing)
            return deal_id, tx_id, "start" if started else "covered"

    return report_of(await asyncio.gather(*(one(d) for d in dict.fromkeys(deal_ids)), return_exceptions=True))


def report_of(outcomes: Iterable[tuple[str, str, str] | BaseException]) -> StartReport:
    """The report of per-deal ``(deal id, transaction id, "start" | "covered" | "wait")`` decisions, in order;
    the first failure raises (the caller's retry starts the rest: starts are idempotent)."""
    report = StartReport()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        deal_id, tx_id, decision = outcome
        if decision == "wait":
            report.waiting[deal_id] = tx_id
        else:
            (report.started if decision == "start" else report.duplicates).append(tx_id)
    return report


# A webhook batch that is running or has finished its starts needs nothing more; a failed or terminated one
# is started again by the next delivery of the same events.
_BATCH_SEEN = ACTIVE | {"Completed"}


def _batch_seen(info: InstanceInfo | None) -> bool:
    return info is not None and info.runtime_status in _BATCH_SEEN


async def start_webhook_batch(client: DurableClient, batch_id: str, deal_ids: list[str], settings: Settings) -> bool:
    """Hand one delivery's deals to a ``webhook_batch`` orchestration; True if this delivery was handed over before.

    One status read and at most one start, whatever the number of deals, so the webhook answers at once;
    the orchestration starts the deal syncs.
    """
    request = DealSyncStarts(deal_ids=deal_ids, trigger="webhook", policy=SagaPolicy.from_settings(settings),
                             accepted_at=datetime.now(UTC).isoformat())
    return not await _start_unless_seen(client, names.WEBHOOK_BATCH, batch_id, request.model_dump(mode="json"),
                                        _batch_seen)


def _already_marked_paid(info: InstanceInfo | None) -> bool:
    if info is None or info.runtime_status is None:
        return False
    if info.runtime_status in ACTIVE:
        return True
    # Xero sends an UPDATE event for every change of an invoice, and retries deliveries: once the deal
    # is marked paid, later events for the invoice must not write to the deal again.
    output = info.output if isinstance(info.output, dict) else {}
    return info.runtime_status == "Completed" and output.get("outcome") == "marked_paid"


async def start_paid_invoice_syncs(client: DurableClient, invoice_ids: Iterable[str]) -> StartReport:
    """Start ``invoice_paid`` per invoice unless one is running or already marked its deal paid.

    A start the task hub refuses raises: the caller answers Xero with an error, and Xero delivers again.
    """
    report = StartReport()
    for invoice_id in dict.fromkeys(invoice_ids):
        instance = f"paid-{invoice_id}"
        started = await _start_unless_seen(client, names.INVOICE_PAID, instance, {"invoice_id": invoice_id},
                                           _already_marked_paid)
        if not started:
            started = await _recheck_if_running(client, instance, invoice_id)
        (report.started if started else report.duplicates).append(instance)
    return report


async def _recheck_if_running(client: DurableClient, instance: str, invoice_id: str) -> bool:
    """An event for an invoice whose write-back is running: that run may have read the invoice before this
    change (a second payment seconds after the first), so it is told to read it again; True if a new run
    had to be started because the running one ended meanwhile."""
    info = await client.status(instance)
    if info is None or info.runtime_status not in ACTIVE:
        return False  # it ended having marked the deal paid: nothing later changes that
    await client.raise_event(instance, names.EVENT_RECHECK, {"invoice_id": invoice_id})
    # An event raised just as the run ends is dropped with it: then this change needs a run of its own.
    return await _start_unless_seen(client, names.INVOICE_PAID, instance, {"invoice_id": invoice_id},
                                    _already_marked_paid)


async def start_batch(client: DurableClient, settings: Settings, *, since: str | None, trigger: str) -> str | None:
    """Start the singleton batch; None if one is still running (overlapping schedules never double-run)."""
    info = await client.status(names.BATCH_INSTANCE_ID)
    if info is not None and info.runtime_status in ACTIVE:
        return None
    payload = {"since": since, "stage": settings.hubspot_trigger_stage, "page_size": settings.batch_page_size,
               "concurrency": settings.batch_concurrency, "trigger": trigger,
               "policy": SagaPolicy.from_settings(settings).model_dump(mode="json")}
    # A refused start is "already running" when the schedule or another request won the race.
    started = await _start_unless_raced(client, names.BATCH_SYNC, names.BATCH_INSTANCE_ID, payload,
                                        lambda found: found is not None and found.runtime_status in ACTIVE)
    return names.BATCH_INSTANCE_ID if started else None


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
    budget = budget_note(xero_calls_left, settings.xero_calls_per_day, backfill=since is not None)
    return json_response(202, {"id": started, "since": since, "xero_budget": budget})
