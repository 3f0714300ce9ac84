"""Starting the write-back of a paid invoice to its deal (``invoice_paid``), once per invoice that needs it.

A Xero delivery goes to one ``paid_invoice_batch`` orchestration (one durable start on the request path);
the batch starts the write-backs, reads their invoices in as few calls as Xero allows, and hands each run
its invoice (``deliver_invoice_reads``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared import names
from shared.application.messages import StartReport
from shared.application.ports import ACTIVE, DurableClient, InstanceInfo
from shared.application.starting import batch_seen, start_unless_seen


class PaidInvoiceBatch(BaseModel):
    """The invoices one Xero delivery names: the input of ``paid_invoice_batch`` and ``start_paid_invoices``."""

    model_config = ConfigDict(extra="forbid")
    invoice_ids: list[str]
    batch_id: str = ""  # set for ``start_paid_invoices``: the runs it starts wait for this batch's read


class InvoiceReads(BaseModel):
    """What ``deliver_invoice_reads`` hands each started run: its invoice as read (None: no such invoice),
    or, for an id in ``unread``, word to read the invoice itself (the batch's read failed)."""

    model_config = ConfigDict(extra="forbid")
    batch_id: str
    invoices: dict[str, Any] = Field(default_factory=dict)
    unread: list[str] = Field(default_factory=list)


def paid_instance(invoice_id: str) -> str:
    return f"paid-{invoice_id}"


def _already_marked_paid(info: InstanceInfo | None) -> bool:
    if info is None or info.runtime_status is None:
        return False
    if info.runtime_status in ACTIVE:
        return True
    # Xero sends an UPDATE event for every change of an invoice, and retries deliveries: once the deal
    # is marked paid, later events for the invoice must not write to the deal again.
    output = info.output if isinstance(info.output, dict) else {}
    return info.runtime_status == "Completed" and output.get("outcome") == "marked_paid"


async def start_paid_invoice_batch(client: DurableClient, batch_id: str, invoice_ids: list[str]) -> bool:
    """Hand one delivery's invoices to a ``paid_invoice_batch``; True if this delivery was handed over before.

    One status read and at most one start, whatever the number of invoices, so the webhook answers at once.
    """
    request = PaidInvoiceBatch(invoice_ids=invoice_ids)
    return not await start_unless_seen(client, names.PAID_INVOICE_BATCH, batch_id, request.model_dump(mode="json"),
                                       batch_seen)


async def start_paid_invoice_syncs(client: DurableClient, invoice_ids: Iterable[str],
                                   batch_id: str = "") -> StartReport:
    """Start ``invoice_paid`` per invoice unless one is running or already marked its deal paid.

    With ``batch_id``, each run started waits for that batch to hand it its invoice (``started`` names
    them) instead of reading it alone. A start the task hub refuses raises: the caller retries.
    """
    report = StartReport()
    for invoice_id in dict.fromkeys(invoice_ids):
        instance = paid_instance(invoice_id)
        input_ = {"invoice_id": invoice_id, **({"read_by": batch_id} if batch_id else {})}
        started = await start_unless_seen(client, names.INVOICE_PAID, instance, input_, _already_marked_paid)
        if not started:
            started = await _recheck_if_running(client, instance, input_)
        (report.started if started else report.duplicates).append(instance)
    return report


async def _recheck_if_running(client: DurableClient, instance: str, input_: dict[str, str]) -> bool:
    """An event for an invoice whose write-back is running: that run may have read the invoice before this
    change (a second payment seconds after the first), so it is told to read it again; True if a new run
    had to be started because the running one ended meanwhile."""
    info = await client.status(instance)
    if info is None or info.runtime_status not in ACTIVE:
        return False  # it ended having marked the deal paid: nothing later changes that
    await client.raise_event(instance, names.EVENT_RECHECK, {"invoice_id": input_["invoice_id"]})
    # An event raised just as the run ends is dropped with it: then this change needs a run of its own.
    return await start_unless_seen(client, names.INVOICE_PAID, instance, input_, _already_marked_paid)


async def deliver_invoice_reads(client: DurableClient, reads: InvoiceReads) -> int:
    """Raise each started run's invoice to it (safe to repeat: a run takes the first and forgets the rest);
    the number of runs told. A run that never hears reads its invoice itself after a while."""
    event = names.invoice_read_event(reads.batch_id)
    for invoice_id, invoice in reads.invoices.items():
        await client.raise_event(paid_instance(invoice_id), event, {"read": True, "invoice": invoice})
    for invoice_id in reads.unread:
        await client.raise_event(paid_instance(invoice_id), event, {"read": False})
    return len(reads.invoices) + len(reads.unread)
