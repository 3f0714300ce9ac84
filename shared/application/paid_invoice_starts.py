"""Starting the write-back of a paid invoice to its deal (``invoice_paid``), once per invoice that needs it."""

from __future__ import annotations

from collections.abc import Iterable

from shared import names
from shared.application.messages import StartReport
from shared.application.ports import ACTIVE, DurableClient, InstanceInfo
from shared.application.starting import start_unless_seen


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
        started = await start_unless_seen(client, names.INVOICE_PAID, instance, {"invoice_id": invoice_id},
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
    return await start_unless_seen(client, names.INVOICE_PAID, instance, {"invoice_id": invoice_id},
                                   _already_marked_paid)
