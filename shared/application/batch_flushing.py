"""The batch flusher's I/O: start an organisation's flusher, and hand each waiting deal its own reply."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared import names
from shared.application.ports import ACTIVE, DurableClient
from shared.sync.batching import Kind, flusher_id

log = logging.getLogger(__name__)


class WakeRequest(BaseModel):
    """The ``wake_batch_flusher`` activity's input: which flusher, and the gather its deal's policy asks for."""

    model_config = ConfigDict(extra="forbid")

    org: str
    kind: Kind
    epoch: int
    lease_seconds: float = Field(default=0, ge=0)  # the waking deal's wait: the queue's lease, not the flusher's
    gather_seconds: float = Field(default=0, ge=0)
    gather_max_seconds: float = Field(default=0, ge=0)


class Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instance: str
    event: str
    data: dict[str, Any]


class DeliveryRequest(BaseModel):
    """The ``deliver_batch_results`` activity's input: each waiting deal's reply, and the batch's row."""

    model_config = ConfigDict(extra="forbid")

    deliveries: list[Delivery]
    row: dict[str, Any]


async def wake_flusher(client: DurableClient, org: str, kind: str, epoch: int, gather_seconds: float = 0,
                       gather_max_seconds: float = 0) -> str:
    """Start flusher ``epoch`` of (org, kind) unless it runs already (an activity re-run, or a twin wake)."""
    instance = flusher_id(org, kind, epoch)
    status = await client.status(instance)
    if status is not None and status.runtime_status in ACTIVE:
        return instance
    await client.start(names.BATCH_FLUSHER, instance, {"org": org, "kind": kind, "epoch": epoch,
                                                       "gather_seconds": gather_seconds,
                                                       "gather_max_seconds": gather_max_seconds})
    return instance


async def deliver(client: DurableClient, deliveries: list[dict[str, Any]], row: dict[str, Any],
                  record: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Raise each deal's event; a deal that cannot be reached waits out its timeout and goes alone, so one
    failure neither stops the others nor fails the delivery (a re-run would only repeat the events).
    Then ``record`` the batch's row (after the events: the deals never wait for it)."""

    async def one(d: dict[str, Any]) -> bool:
        try:
            await client.raise_event(d["instance"], d["event"], d["data"])
        except Exception as exc:  # the SDK raises bare exceptions for a missing or finished instance
            log.warning("batch %s: no delivery to %s: %s", row.get("batch_id"), d["instance"], exc)
            return False
        return True

    delivered = await asyncio.gather(*(one(d) for d in deliveries))
    # The batch's own line: composition, key, calls, ok/error counts, latency (for operators and the bench).
    counts = {"delivered": sum(delivered), "missed": len(delivered) - sum(delivered)}
    log.info("batch %s", {**row, **counts})
    if record is not None:
        await asyncio.to_thread(_record_quietly, record, {**row, **counts})
    return counts


def _record_quietly(record: Callable[[dict[str, Any]], None], row: dict[str, Any]) -> None:
    # The row is a report: storage being away must neither fail the delivery (its deals have their replies)
    # nor repeat it. The log line above still carries the batch's figures.
    try:
        record(row)
    except Exception as exc:  # the table SDK's errors have no common type (HTTP, auth, timeouts)
        log.warning("batch %s: row not written: %s", row.get("batch_id"), type(exc).__name__)
