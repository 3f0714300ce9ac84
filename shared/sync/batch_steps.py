"""The batched steps' plain code: one batch of queued deal steps in, each deal's own reply out.

Each reply has the shape of a single activity's (``shared.saga.envelope``): a result, a business rejection of
that deal alone (with the system's words), or an error. Elements are matched to deals by Reference or
company id, never by position. Runs at least once: a re-run with the same batch sends the same body under
the same key, and items marked "may exist" are looked up before anything is created.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.connectors.ports import BatchAccountingPort, ElementRejected, ElementUnanswered
from shared.domain.errors import BusinessRejection, PermanentError, SyncError, TransientError
from shared.domain.invoice_mapping import build_invoice
from shared.domain.models import Customer, InvoiceDraft, InvoiceRef
from shared.saga.envelope import StepFailed, run_activity
from shared.sync import batch_load, steps
from shared.sync.batch_customer_lookup import find_customers
from shared.sync.batch_markers import write_markers_batch
from shared.sync.batch_undos import UNDO_KINDS
from shared.sync.batching import BatchInfo, QueueItem, attempt_key, batch_key
from shared.sync.customer_lookup import remember
from shared.sync.messages import CreateInvoiceInput, CreateInvoiceResult, EnsureCustomerInput, EnsureCustomerResult
from shared.sync.org_check import check_mapping
from shared.sync.step_ports import Ports

JsonDict = dict[str, Any]
# The whole request refused, nothing created (a 400 of the envelope, a 413): halve it and try again.
SPLIT_CODES = frozenset({"batch_rejected", "payload_too_large"})
Answer = InvoiceRef | ElementRejected | ElementUnanswered


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_id: str
    kind: str
    key: str
    items: list[QueueItem]


class BatchReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    results: dict[str, JsonDict]  # item key -> its reply; an item without one gets ``error``
    error: JsonDict | None = None  # the batch failed before it could answer every item (e.g. 429)
    calls: int = 0
    ok: int = 0
    rejected: int = 0
    seconds: float = 0.0


def reply_of(fn: Callable[[], Any]) -> JsonDict:
    """One element's outcome as a single activity would have answered it."""
    try:
        return run_activity(lambda _p: fn(), None)
    except StepFailed as exc:
        return {"ok": False, "error": exc.error}


def _missing(what: str) -> JsonDict:
    return {"ok": False, "error": TransientError(f"the batch's answer has no {what}: it may exist", service="xero",
                                                 code="batch_element_missing").to_dict()}


class _Run:
    """One batch's bookkeeping: the replies so far and the calls made."""

    def __init__(self, request: BatchRequest, port: BatchAccountingPort) -> None:
        self.request, self.port, self.calls = request, port, 0
        self.results: dict[str, JsonDict] = {}

    def info(self, element_id: str) -> BatchInfo:
        return BatchInfo(batch_id=self.request.batch_id, size=len(self.request.items), element_id=element_id)

    def create_invoices(self, sent: list[tuple[QueueItem, InvoiceDraft]]) -> dict[str, Answer]:
        """All drafts in one call; a refused envelope (400/413: nothing created) is halved until it passes."""
        self.calls += 1
        key = batch_key(self.request.kind, [attempt_key(i) for i, _ in sent])
        try:
            return self.port.create_invoices([d for _, d in sent], key)
        except (BusinessRejection, PermanentError) as exc:
            if exc.code not in SPLIT_CODES:
                raise
            if len(sent) == 1:
                return {sent[0][1].reference: ElementRejected(messages=(exc.message,))}
        half = len(sent) // 2
        return {**self.create_invoices(sent[:half]), **self.create_invoices(sent[half:])}

    def reply(self) -> BatchReply:
        ok = sum(1 for r in self.results.values() if r.get("ok"))
        rejected = sum(1 for r in self.results.values()
                       if not r.get("ok") and r["error"].get("kind") == BusinessRejection.kind)
        return BatchReply(results=self.results, calls=self.calls, ok=ok, rejected=rejected)


def run_batch(request: BatchRequest, ports: Ports, port: BatchAccountingPort) -> BatchReply:
    """Run one batch of ``request.kind``; a failure that leaves items unanswered is the reply's ``error``."""
    started = time.monotonic()
    run = _Run(request, port)
    try:
        {"invoice": _invoices, "customer": _customers, "markers": _markers, "load": _loads, "void": _undos,
         "archive": _undos}[request.kind](run, ports)
        reply = run.reply()
    except SyncError as exc:
        reply = run.reply().model_copy(update={"error": exc.to_dict()})
    return reply.model_copy(update={"seconds": round(time.monotonic() - started, 3)})


def _undos(run: _Run, _ports: Ports) -> None:
    UNDO_KINDS[run.request.kind](run, run.request.items, run.port)


def _markers(run: _Run, ports: Ports) -> None:
    write_markers_batch(run, run.request.items, ports)


def _invoices(run: _Run, ports: Ports) -> None:
    rules = check_mapping(ports.rules, ports.org)
    drafts: list[tuple[QueueItem, CreateInvoiceInput, InvoiceDraft]] = []
    for item in run.request.items:
        request = CreateInvoiceInput.model_validate(item.payload)
        answer = reply_of(functools.partial(build_invoice, request.deal, request.line_items, request.customer_id,
                                            request.today, rules))
        if not answer["ok"]:
            run.results[item.key] = answer
            continue
        drafts.append((item, request, InvoiceDraft.model_validate(answer["result"])))
    # What an earlier attempt (or an earlier generation, or round) may have left standing is reused, not doubled.
    looked = [(i, d) for i, r, d in drafts if i.may_exist or r.round > 0 or r.after_stranded]
    found = run.port.find_invoices_by_references([d.reference for _, d in looked]) if looked else {}
    run.calls += 1 if looked else 0
    unfound: list[tuple[QueueItem, InvoiceDraft]] = []
    for item, draft in looked:
        live = [i for i in found.get(draft.reference, []) if i.status in steps.LIVE_INVOICE]
        if live:
            run.results[item.key] = _invoice_reply(run, live[0], ports, reused=True)
        else:
            unfound.append((item, draft))
    # The new items go in a call of their own: their body and key depend on the request alone, so a re-run
    # (or a deal's re-send) sends them byte for byte again, whatever the lookup finds this time.
    fresh = [(i, d) for i, _r, d in drafts if all(i is not j for j, _ in looked)]
    send = fresh + unfound
    answers = {**(run.create_invoices(fresh) if fresh else {}), **(run.create_invoices(unfound) if unfound else {})}
    for item, draft in send:
        made = answers.get(draft.reference)
        if made is None or isinstance(made, ElementUnanswered):
            run.results[item.key] = _missing(f"invoice {draft.reference}")
        elif isinstance(made, ElementRejected):
            run.results[item.key] = {"ok": False, "error": BusinessRejection(
                made.message, service="xero", code=made.code).to_dict()}
        else:
            run.results[item.key] = _invoice_reply(run, made, ports, reused=False)


def _invoice_reply(run: _Run, ref: InvoiceRef, ports: Ports, *, reused: bool) -> JsonDict:
    linked = ref.model_copy(update={"url": ref.url or ports.accounting.invoice_link(ref.id)})
    result = CreateInvoiceResult(invoice=linked, reused=reused, batch=run.info(ref.id),
                                 external_ids={"invoice": ref.id, "invoice_number": ref.number})
    return {"ok": True, "result": result.model_dump(mode="json")}


def _loads(run: _Run, ports: Ports) -> None:
    run.calls += 1  # one batch read (a few HubSpot calls: deals, associations, lines, companies, contacts)
    run.results.update(batch_load.load_replies(run.request.items, ports, run.info))


def _customers(run: _Run, ports: Ports) -> None:
    """Deals of one company share one element; the first of them (by item key) owns it, and its undo."""
    companies: dict[str, list[tuple[QueueItem, EnsureCustomerInput]]] = {}
    for item in sorted(run.request.items, key=lambda i: i.key):
        request = EnsureCustomerInput.model_validate(item.payload)
        if request.existing is not None or request.may_exist:
            # Known (or to be brought back), or perhaps made by an earlier attempt: the single path decides.
            run.results[item.key] = _alone(request, ports)
            continue
        companies.setdefault(request.company_id, []).append((item, request))
    _known(run, ports, companies)
    customers: dict[str, Customer] = {}
    for company_id, members in companies.items():
        answer = reply_of(functools.partial(steps.customer_for, members[0][1], ports.crm))
        if answer["ok"]:
            customers[company_id] = Customer.model_validate(answer["result"])
        else:
            run.results.update({i.key: answer for i, _ in members})
    if not customers:
        return
    run.calls += 1
    key = batch_key(run.request.kind, [attempt_key(i) for c in customers for i, _ in companies[c]])
    answers = run.port.create_customers(list(customers.values()), key)
    for company_id in customers:
        made = answers.get(company_id)
        for n, (item, request) in enumerate(companies[company_id]):
            if made is None or isinstance(made, ElementUnanswered):
                run.results[item.key] = _missing(f"customer for company {company_id}")
            elif isinstance(made, ElementRejected):
                # Refused: most often the company's contact was made since this deal's load (by a deal of the
                # same company in an earlier batch), so the single path looks for it first; it also knows
                # the rules for a name that is another customer's.
                run.results[item.key] = _alone(request.model_copy(update={"may_exist": True}), ports)
            else:
                if n == 0:
                    remember(ports.customers, company_id, made.id)
                result = EnsureCustomerResult(customer=made, created=n == 0, batch=run.info(made.id),
                                              external_ids={"customer": made.id})
                run.results[item.key] = {"ok": True, "result": result.model_dump(mode="json")}


def _known(run: _Run, ports: Ports, companies: dict[str, list[tuple[QueueItem, EnsureCustomerInput]]]) -> None:
    """The companies whose deals' load read no customer, looked up many a call: a customer found is used as the
    existing one by the single path (archived: reactivated there), and leaves the create."""
    looked = [c for c, members in companies.items() if any(r.look_up for _, r in members)]
    if not looked:
        return
    lookup = find_customers(looked, ports.accounting, run.port, ports.customers)
    run.calls += lookup.calls
    for company_id in looked:
        ref = lookup.found.get(company_id)
        if ref is None and lookup.refused is None:
            continue  # none yet: created in this batch
        for item, request in companies.pop(company_id):
            run.results[item.key] = (
                _alone(request.model_copy(update={"existing": ref, "look_up": False}), ports) if ref is not None
                else {"ok": False, "error": lookup.refused.to_dict() if lookup.refused else {}})


def _alone(request: EnsureCustomerInput, ports: Ports) -> JsonDict:
    return reply_of(lambda: steps.ensure_customer(request, ports.crm, ports.accounting, ports.rules, ports.customers))
