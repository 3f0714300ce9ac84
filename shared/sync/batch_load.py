"""The batched load step: many deals read from the CRM in a few batch calls, each deal's reply its own.

Each deal gets what ``load_deal`` would have answered (a result, a halt, its own business rejection naming the
property, a deleted deal's ``not_found``), from the same code (``steps.load_snapshot``), with one difference:
no accounting lookup. The customer step looks the deals' companies up, many a call (``batch_customer_lookup``).
A read makes nothing, so a re-run of the batch, or a lone retry after it, only reads again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from shared.connectors.ports import BatchCrmReads, CrmPort
from shared.domain.errors import BusinessRejection, PermanentError, SyncError, TransientError
from shared.domain.models import DealSnapshot
from shared.saga.envelope import Halt, StepFailed, run_activity
from shared.sync import steps
from shared.sync.batching import BatchInfo, QueueItem
from shared.sync.messages import LoadDealInput, LoadDealResult
from shared.sync.step_ports import Ports

__all__ = ["OneDealAtATime", "batch_crm", "load_replies"]

JsonDict = dict[str, Any]


class OneDealAtATime:
    """A ``BatchCrmReads`` over a CRM without batch reads: one snapshot read per deal (the same replies)."""

    def __init__(self, crm: CrmPort) -> None:
        self.crm = crm

    def get_deal_snapshots(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | SyncError]:
        found: dict[str, DealSnapshot | SyncError] = {}
        for deal_id in dict.fromkeys(deal_ids):
            try:
                found[deal_id] = self.crm.get_deal_snapshot(deal_id)
            except (BusinessRejection, PermanentError) as exc:  # a transient failure stops the batch (raised)
                found[deal_id] = exc
        return found


def batch_crm(crm: CrmPort) -> BatchCrmReads:
    return crm if isinstance(crm, BatchCrmReads) else OneDealAtATime(crm)


def load_replies(items: Sequence[QueueItem], ports: Ports, info: Callable[[str], BatchInfo]) -> dict[str, JsonDict]:
    """Each item's reply (a single ``load_deal`` activity's shape) by item key; a failure of the whole read
    raises (the batch's error: every item gets it)."""
    requests = {item.key: LoadDealInput.model_validate(item.payload) for item in items}
    snapshots = batch_crm(ports.crm).get_deal_snapshots([r.deal_id for r in requests.values()])
    return {key: _reply(functools.partial(_load, request, snapshots.get(request.deal_id), ports, info))
            for key, request in requests.items()}


def _load(request: LoadDealInput, snapshot: DealSnapshot | SyncError | None, ports: Ports,
          info: Callable[[str], BatchInfo]) -> LoadDealResult | Halt:
    if snapshot is None:
        raise TransientError(f"the batch read has no answer for deal {request.deal_id}", service="sync",
                             code="batch_element_missing")
    if isinstance(snapshot, SyncError):
        raise snapshot  # what a single read of this deal would have raised
    loaded = steps.load_snapshot(request, snapshot, ports.crm, ports.rules, ports.trigger_stage, ports.org, None)
    return loaded if isinstance(loaded, Halt) else loaded.model_copy(update={"batch": info(request.deal_id)})


def _reply(fn: Callable[[], LoadDealResult | Halt]) -> JsonDict:
    try:
        return run_activity(lambda _p: fn(), None)
    except StepFailed as exc:
        return {"ok": False, "error": exc.error}
