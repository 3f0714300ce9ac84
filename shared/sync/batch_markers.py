"""The batched "markers" kind: many deals' claims, write-backs and their undos in one CRM batch update.

HubSpot's batch update is all or nothing: a refusal (a deleted deal, a value a portal rule refuses) writes
none of the deals. The batch is then split, around the deals the refusal names or in halves when it names
none, until every part passes; a deal left alone takes the single path (``steps.write_markers``, one PATCH),
so the bad deal alone gets today's answer in today's words (a deleted deal: a business rejection, or "gone"
for an undo) and the others are written. Every write sets known values: a re-run writes the same again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

from shared.connectors.ports import BatchCrmUpdates, CrmPort
from shared.domain.errors import BusinessRejection, TransientError
from shared.saga.envelope import StepFailed, run_activity
from shared.sync import steps
from shared.sync.batching import BatchInfo, QueueItem
from shared.sync.messages import MarkersInput, MarkersResult
from shared.sync.step_ports import Ports

JsonDict = dict[str, Any]
Sent = list[tuple[QueueItem, MarkersInput]]

__all__ = ["OneByOneCrm", "write_markers_batch"]


class Run(Protocol):
    """The batch's bookkeeping (``shared.sync.batch_steps``): the items, their replies, the calls made."""

    results: dict[str, JsonDict]
    calls: int

    def info(self, element_id: str) -> BatchInfo: ...


class OneByOneCrm:
    """A ``BatchCrmUpdates`` over a CRM without batch updates (and the unit tests' fakes): one update per deal,
    all or nothing as the port says only in that a refusal stops the batch (the single path re-writes)."""

    def __init__(self, crm: CrmPort) -> None:
        self.crm = crm

    def update_markers_batch(self, updates: Mapping[str, Mapping[str, str]]) -> None:
        for deal_id, values in updates.items():
            try:
                self.crm.update_markers(deal_id, values)
            except BusinessRejection as exc:
                raise BusinessRejection(exc.message, service=exc.service, code="batch_rejected",
                                        details={"ids": [deal_id]}) from None


def write_markers_batch(run: Run, items: list[QueueItem], ports: Ports) -> None:
    """Write the markers of every item, one deal per item; each item's reply goes to ``run.results``."""
    port = ports.crm if isinstance(ports.crm, BatchCrmUpdates) else OneByOneCrm(ports.crm)
    # One step at a time per deal: two items of one deal in a batch cannot happen, and HubSpot would not say
    # which of the two it applied last. Should it happen, neither is written; each deal's retry comes later.
    requests = [(item, MarkersInput.model_validate(item.payload)) for item in items]
    seen = Counter(r.deal_id for _, r in requests)
    for item, request in requests:
        if seen[request.deal_id] > 1:
            run.results[item.key] = {"ok": False, "error": TransientError(
                f"deal {request.deal_id} has two marker writes in one batch", service="sync",
                code="batch_duplicate_deal").to_dict()}
    _write(run, [(i, r) for i, r in requests if seen[r.deal_id] == 1], port, ports.crm)


def _write(run: Run, sent: Sent, port: BatchCrmUpdates, crm: CrmPort) -> None:
    """One call for ``sent``; refused, split it until the parts pass. A 429 or an outage raises: the items
    not answered yet get that error (the flusher's ``error``) and are paced or retried on their own."""
    if not sent:
        return
    if len(sent) == 1:
        item, request = sent[0]
        run.calls += 1
        run.results[item.key] = _single(run, request, crm)
        return
    run.calls += 1
    try:
        port.update_markers_batch({r.deal_id: _values(r) for _, r in sent})
    except BusinessRejection as exc:
        if exc.code != "batch_rejected":
            raise
        named = set(exc.details.get("ids") or ())
        bad = [s for s in sent if s[1].deal_id in named]
        if bad and len(bad) < len(sent):
            parts = [[s for s in sent if s[1].deal_id not in named], *([s] for s in bad)]
        else:
            parts = [sent[: len(sent) // 2], sent[len(sent) // 2:]]
        for part in parts:
            _write(run, part, port, crm)
        return
    for item, request in sent:
        result = MarkersResult(deal_id=request.deal_id, written=request.values, batch=run.info(request.deal_id))
        run.results[item.key] = {"ok": True, "result": result.model_dump(mode="json")}


def _single(run: Run, request: MarkersInput, crm: CrmPort) -> JsonDict:
    """The single path's answer for one deal, in its words (a deleted deal, a refused value)."""
    try:
        reply = run_activity(lambda _p: steps.write_markers(request, crm), None)
    except StepFailed as exc:
        return {"ok": False, "error": exc.error}
    if reply.get("ok"):
        result = MarkersResult.model_validate(reply["result"])
        reply = {**reply, "result": result.model_copy(update={"batch": run.info(request.deal_id)})
                 .model_dump(mode="json")}
    return reply


def _values(request: MarkersInput) -> dict[str, str]:
    # As the single path: the paid markers are never written here (steps.write_markers says why).
    return request.values.model_dump(exclude=set(steps.PAID_MARKERS))
