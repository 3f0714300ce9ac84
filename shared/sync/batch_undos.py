"""The batched Xero undos: many deals' invoice voids (kind ``void``) and customer archives (``archive``) a call.

Each deal's reply is the one its single undo gives (``steps.undo_invoice_if_present``,
``steps.archive_customer_if_created``): the same result models, a paid invoice refused alone in the same words
(a person must issue a credit note), "already gone" or unknown counted as done, a customer kept while another
invoice still uses it. Only the calls are shared: one reference lookup, one void (a read of the statuses and
one POST of what is left to undo); one customer lookup, one read of the customers' live invoices, one archive.

Order within a deal needs nothing here: the engine runs a deal's undos in reverse, one at a time, and an
undo's attempt returns only once its batch answered it, so a deal's archive is queued after its void was
answered (its invoice voided, or refused and still standing, which the archive then sees and refuses).

Both writes set known values (Status VOIDED/DELETED, ContactStatus ARCHIVED): a re-run reads the statuses again
and sends only what is left. ``XeroBatch`` keys each POST by a hash of its body (same body, same key), not by
the batch's key: a status changed meanwhile makes another body, which must not reuse a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from shared.connectors.ports import BatchAccountingPort, ElementRejected, ElementUnanswered
from shared.domain.errors import BusinessRejection, TransientError
from shared.sync import steps
from shared.sync.batching import QueueItem
from shared.sync.messages import ArchiveCustomerInput, ArchiveCustomerResult, UndoInvoiceInput, UndoInvoiceResult

JsonDict = dict[str, Any]

__all__ = ["UNDO_KINDS", "archive_batch", "void_batch"]


class Run(Protocol):
    """The batch's bookkeeping (``shared.sync.batch_steps``): the items' replies and the calls made."""

    results: dict[str, JsonDict]
    calls: int


def void_batch(run: Run, items: list[QueueItem], port: BatchAccountingPort) -> None:
    """Undo every item's invoice (void, or delete a draft): one lookup for those known by reference only."""
    requests = [(item, UndoInvoiceInput.model_validate(item.payload)) for item in items]
    unconfirmed = [r.reference for _, r in requests if not r.invoice_id]
    found = port.find_invoices_by_references(unconfirmed) if unconfirmed else {}
    run.calls += 1 if unconfirmed else 0
    ids = {item.key: [r.invoice_id] if r.invoice_id else
           [i.id for i in found.get(r.reference, []) if i.status in steps.LIVE_INVOICE] for item, r in requests}
    every = list(dict.fromkeys(i for listed in ids.values() for i in listed))
    answers = port.void_invoices(every) if every else {}
    run.calls += 1 if every else 0
    for item, _request in requests:
        outcomes: dict[str, str] = {}
        for invoice_id in ids[item.key]:
            answer = answers.get(invoice_id)
            if not isinstance(answer, str):
                run.results[item.key] = _refused(answer, f"invoice {invoice_id}", {"invoice_id": invoice_id})
                break
            outcomes[invoice_id] = answer
        else:
            run.results[item.key] = _ok(UndoInvoiceResult(outcomes=outcomes))


def archive_batch(run: Run, items: list[QueueItem], port: BatchAccountingPort) -> None:
    """Archive the customers the items' deals created, unless an invoice still uses them."""
    pending: list[tuple[QueueItem, ArchiveCustomerInput]] = []
    for item in items:
        request = ArchiveCustomerInput.model_validate(item.payload)
        if request.existed_before or request.created is False:
            run.results[item.key] = _ok(ArchiveCustomerResult(outcome="kept", customer_id=request.customer_id))
        else:
            pending.append((item, request))
    ids = _customer_ids(run, pending, port)
    live = port.find_live_invoices_of(list(dict.fromkeys(ids.values()))) if ids else {}
    run.calls += 1 if ids else 0
    archive: list[tuple[QueueItem, str]] = []
    for item, request in pending:
        customer_id = ids.get(item.key)
        standing = live.get(customer_id, []) if customer_id else []
        ours = [i for i in standing if request.reference and i.reference == request.reference]
        if customer_id is None:
            run.results[item.key] = _ok(ArchiveCustomerResult(outcome="absent"))
        elif ours:
            run.results[item.key] = {"ok": False, "error": steps.own_invoice_stands(ours).to_dict()}
        elif standing:
            run.results[item.key] = _ok(ArchiveCustomerResult(outcome="in_use", customer_id=customer_id))
        else:
            archive.append((item, customer_id))
    answers = port.archive_customers(list(dict.fromkeys(c for _, c in archive))) if archive else {}
    run.calls += 1 if archive else 0
    for item, customer_id in archive:
        answer = answers.get(customer_id)
        # Already archived or unknown is done: the single undo answers "archived" for those too.
        run.results[item.key] = (_ok(ArchiveCustomerResult(outcome="archived", customer_id=customer_id))
                                 if isinstance(answer, str) else _refused(answer, f"customer {customer_id}", {}))


def _customer_ids(run: Run, pending: list[tuple[QueueItem, ArchiveCustomerInput]],
                  port: BatchAccountingPort) -> dict[str, str]:
    """Each item's customer; a create never confirmed finds it by the company id, as the single undo does:
    the customer did not exist before the step, so an active one carrying the company's id now is ours."""
    unconfirmed = [r.company_id for _, r in pending if r.customer_id is None]
    found = port.find_customers(unconfirmed) if unconfirmed else {}
    run.calls += 1 if unconfirmed else 0
    ids: dict[str, str] = {}
    for item, request in pending:
        ref = found.get(request.company_id)
        if request.customer_id is not None:
            ids[item.key] = request.customer_id
        elif ref is not None and ref.status == "ACTIVE":  # the single lookup finds active ones only
            ids[item.key] = ref.id
    return ids


def _ok(result: UndoInvoiceResult | ArchiveCustomerResult) -> JsonDict:
    return {"ok": True, "result": result.model_dump(mode="json")}


def _refused(answer: ElementRejected | ElementUnanswered | None, what: str, details: JsonDict) -> JsonDict:
    if isinstance(answer, ElementRejected):
        # A paid invoice's refusal is Xero's connector's own words, as the single undo raises them.
        return {"ok": False, "error": BusinessRejection(answer.message, service="xero", code=answer.code,
                                                        details=details).to_dict()}
    return {"ok": False, "error": TransientError(f"the batch's answer has no {what}: undone or not, it is tried "
                                                 "again", service="xero", code="batch_element_missing").to_dict()}


UndoBatch = Callable[[Run, list[QueueItem], BatchAccountingPort], None]
UNDO_KINDS: dict[str, UndoBatch] = {"void": void_batch, "archive": archive_batch}
