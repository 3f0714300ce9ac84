"""Starting orchestrations from triggers, deduplicated by transaction id (plain async code behind a client port)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from shared import names
from shared.api.responses import ApiResponse, error_response, json_response
from shared.config import Settings
from shared.domain.transaction import blocks_new_sync
from shared.sync.identity import transaction_id
from shared.sync.policy import DealSyncInput, SagaPolicy

ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


class InstanceInfo(Protocol):
    @property
    def runtime_status(self) -> str | None: ...

    @property
    def output(self) -> Any: ...


class DurableClient(Protocol):
    """What starters need from the durable client; the blueprint adapts ``DurableOrchestrationClient``."""

    async def status(self, instance_id: str) -> InstanceInfo | None: ...

    async def start(self, orchestrator: str, instance_id: str, input_: Any) -> str: ...

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None: ...

    async def entity_state(self, entity: str, key: str) -> Any: ...


@dataclass
class StartReport:
    started: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"started": self.started, "duplicates": self.duplicates}


def _counts_as_existing(info: InstanceInfo | None) -> bool:
    if info is None or info.runtime_status is None:
        return False
    output = info.output if isinstance(info.output, dict) else {}
    return info.runtime_status != "Completed" or blocks_new_sync(str(output.get("status", "")))


START_CONCURRENCY = 16  # a webhook batch holds up to 100 deals; HubSpot waits 5 s for the answer at most


async def start_deal_syncs(client: DurableClient, deal_ids: Iterable[str], trigger: str,
                           settings: Settings) -> StartReport:
    """Start ``deal_sync`` for each deal that has no transaction yet; the rest are duplicates.

    The deals are distinct transactions, so they are started concurrently (bounded); the report keeps their order.
    """
    policy = SagaPolicy.from_settings(settings)
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(deal_id: str) -> tuple[str, bool]:
        tx_id = transaction_id(deal_id)
        async with gate:
            if _counts_as_existing(await client.status(tx_id)):
                return tx_id, False
            try:
                await client.start(names.DEAL_SYNC, tx_id, DealSyncInput(
                    deal_id=deal_id, trigger=trigger, policy=policy).model_dump(mode="json"))
            except Exception:
                # The host refuses an id that is running: another trigger won the race for this deal.
                return tx_id, False
            return tx_id, True

    report = StartReport()
    for tx_id, started in await asyncio.gather(*(one(d) for d in dict.fromkeys(deal_ids))):  # in order, each once
        (report.started if started else report.duplicates).append(tx_id)
    return report


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
    """Start ``invoice_paid`` per invoice unless one is running or already marked its deal paid."""
    report = StartReport()
    for invoice_id in dict.fromkeys(invoice_ids):
        instance = f"paid-{invoice_id}"
        if _already_marked_paid(await client.status(instance)):
            report.duplicates.append(instance)
            continue
        try:
            await client.start(names.INVOICE_PAID, instance, {"invoice_id": invoice_id})
        except Exception:
            report.duplicates.append(instance)  # another delivery won the race for this invoice
        else:
            report.started.append(instance)
    return report


async def start_batch(client: DurableClient, settings: Settings, *, since: str | None, trigger: str) -> str | None:
    """Start the singleton batch; None if one is still running (overlapping schedules never double-run)."""
    info = await client.status(names.BATCH_INSTANCE_ID)
    if info is not None and info.runtime_status in ACTIVE:
        return None
    payload = {"since": since, "stage": settings.hubspot_trigger_stage, "page_size": settings.batch_page_size,
               "concurrency": settings.batch_concurrency, "trigger": trigger,
               "policy": SagaPolicy.from_settings(settings).model_dump(mode="json")}
    await client.start(names.BATCH_SYNC, names.BATCH_INSTANCE_ID, payload)
    return names.BATCH_INSTANCE_ID


async def sync_now(body: bytes, client: DurableClient, settings: Settings) -> ApiResponse:
    """``POST /api/sync``: start a batch now; an optional ``{"since": "<ISO date>"}`` makes it a backfill."""
    try:
        payload = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return error_response(400, "malformed_body", 'the body must be JSON, e.g. {"since": "2026-11-01"}')
    since = payload.get("since") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or (since is not None and not isinstance(since, str)):
        return error_response(400, "invalid_parameter", "since: must be an ISO 8601 date")
    if since is not None:
        try:
            parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            return error_response(400, "invalid_parameter", "since: must be an ISO 8601 date")
        since = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()
    started = await start_batch(client, settings, since=since, trigger="manual")
    if started is None:
        return error_response(409, "conflict", "a batch is already running")
    return json_response(202, {"id": started, "since": since})
