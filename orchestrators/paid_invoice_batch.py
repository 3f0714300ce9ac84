"""The ``paid_invoice_batch`` orchestrator: one Xero delivery's invoices, read in lists and handed to their write-backs.

Why a batch per delivery rather than a read per write-back: Xero's events name ids only, and one
``GET /Invoices?IDs=`` reads up to 50 invoices for the price of one. The write-back itself stays per
invoice (``invoice_paid``, instance ``paid-<invoice id>``): that run is what keeps writes to one deal in
order, and its "recheck" still covers events that come while it runs. The read is made only after the
runs were started, so it is never older than the run that uses it (a read made before, then handed to a
run that started after another run had written a newer state, would write an older state over it).
Nothing is lost on the way: a run that gets no read (the read failed, or this batch died) reads the
invoice itself after ``READ_WAIT``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from orchestrators.start_rounds import WebhookBatchFailed
from shared import names
from shared.application.messages import StartReport
from shared.application.paid_invoice_starts import InvoiceReads, PaidInvoiceBatch
from shared.saga.policy import RetryPolicy
from shared.saga.retry import call_with_retries
from shared.sync.policy import START_RETRY

MAX_IDS_PER_READ = 50  # Xero's guidance for one IDs= list
# Short on purpose: when Xero stays unreachable, each run retries its own read with its own (longer) policy.
READ_RETRY = RetryPolicy(max_attempts=4, first_interval=5, max_interval=60, pace=False)


def paid_invoice_batch(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any]]:
    """Start the delivery's write-backs, read the invoices of those started (one call per 50), hand each
    its invoice; the output names what was started, found (``duplicates``), read and left to read alone."""
    batch = PaidInvoiceBatch.model_validate(ctx.get_input() or {})
    request = batch.model_copy(update={"batch_id": ctx.instance_id})
    ok, raw = yield from call_with_retry(ctx, names.START_PAID_INVOICES, request.model_dump(mode="json"),
                                         START_RETRY)
    if not ok:
        # Ends Failed (visible, and started again by a redelivery of the same events), not Completed.
        raise WebhookBatchFailed(f"paid-invoice write-backs of {ctx.instance_id} not started: {raw}")
    report = StartReport.model_validate(raw)
    started = [i for i in batch.invoice_ids if f"paid-{i}" in report.started]
    reads = InvoiceReads(batch_id=ctx.instance_id)
    calls = 0
    for first in range(0, len(started), MAX_IDS_PER_READ):
        chunk = started[first:first + MAX_IDS_PER_READ]
        called = yield from call_with_retries(ctx, names.READ_PAID_INVOICES, {"invoice_ids": chunk}, READ_RETRY,
                                              label=names.READ_PAID_INVOICES)
        calls += 1
        found = (called.result or {}).get("invoices") if called.ok else None
        if isinstance(found, dict):
            reads.invoices.update({i: found.get(i) for i in chunk})
        else:
            reads.unread += chunk
    told = 0
    if started:
        # A failure here loses nothing: each run waits READ_WAIT for this, then reads its invoice itself.
        ok, raw = yield from call_with_retry(ctx, names.DELIVER_INVOICE_READS, reads.model_dump(mode="json"),
                                             START_RETRY)
        told = int(raw) if ok and isinstance(raw, int) else 0
    return {"invoices": batch.invoice_ids, "started": report.started, "duplicates": report.duplicates,
            "read": sorted(reads.invoices), "unread": reads.unread, "read_lists": calls, "delivered": told}
