"""The batched "markers" kind: one CRM batch update for many deals, split down to a refused deal; its undo seam."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

from shared.domain.errors import BusinessRejection, PermanentError, TransientError
from shared.domain.invoice_mapping import MappingRules
from shared.domain.models import SyncMarkers
from shared.saga.engine import Saga, Step, run_compensations
from shared.saga.outcome import CompensationRecord
from shared.saga.policy import RetryPolicy
from shared.sync import batching
from shared.sync.batch_port import OneByOne
from shared.sync.batch_steps import BatchRequest, run_batch
from shared.sync.batched_attempt import batched
from shared.sync.deal_saga import DealSagaInput, DealSagaState
from shared.sync.messages import MarkersInput
from shared.sync.step_ports import Ports
from tests.support.fake_durable import FakeDurableContext
from tests.support.fake_ports import FakeAccounting, FakeCrm


class BatchCrm(FakeCrm):
    """HubSpot's batch update: all or nothing, a refusal naming the deleted deals (or, ``silent``, none)."""

    def __init__(self, silent: bool = False) -> None:
        super().__init__()
        self.silent = silent
        self.batches: list[list[str]] = []
        self.fail_next: Exception | None = None

    def update_markers(self, deal_id: str, values: Mapping[str, str]) -> None:
        if deal_id not in self.deals:
            self._call("update_markers")
            raise PermanentError("update deal: not found", service="hubspot", code="not_found", status=404)
        super().update_markers(deal_id, values)

    def update_markers_batch(self, updates: Mapping[str, Mapping[str, str]]) -> None:
        self.batches.append(list(updates))
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        gone = [d for d in updates if d not in self.deals]
        if gone:
            raise BusinessRejection("Could not update some deals", service="hubspot", code="batch_rejected",
                                    details={"ids": [] if self.silent else gone})
        for deal_id, values in updates.items():
            deal = self.deals[deal_id]
            self.deals[deal_id] = deal.model_copy(update={"markers": SyncMarkers(**{**deal.markers.model_dump(),
                                                                                     **values})})


def _item(n: int, *, undo: bool = False, step: str = "claim") -> batching.QueueItem:
    values = SyncMarkers(sync_status="in_progress", transaction_id=f"deal-{n}", paid_status="paid")
    payload = MarkersInput(deal_id=str(n), values=values, undo=undo, tx_id=f"deal-{n}", round=0)
    return batching.QueueItem(key=f"deal-{n}:{step}:r0", instance=f"deal-{n}", event="e", attempt=1,
                              payload=payload.model_dump(mode="json"))


def _run(crm: FakeCrm, items: list[batching.QueueItem]) -> Any:
    acct = FakeAccounting()
    ports = Ports(crm=crm, accounting=acct, rules=MappingRules(), trigger_stage="closedwon")
    return run_batch(BatchRequest(batch_id="B", kind="markers", key="k", items=items), ports, OneByOne(acct))


def _crm(deals: range, silent: bool = False) -> BatchCrm:
    crm = BatchCrm(silent)
    for n in deals:
        crm.add_won_deal(str(n))
    return crm


def test_many_deals_markers_are_one_batch_update_without_the_paid_markers() -> None:
    crm = _crm(range(1, 41))
    reply = _run(crm, [_item(n) for n in range(1, 41)])
    assert crm.batches == [[str(n) for n in range(1, 41)]] and reply.calls == 1 and reply.ok == 40
    assert {crm.deals[str(n)].markers.sync_status for n in range(1, 41)} == {"in_progress"}
    assert crm.deals["7"].markers.paid_status == ""  # the paid markers are the paid write-back's
    assert reply.results["deal-7:claim:r0"]["result"]["batch"] == {"batch_id": "B", "size": 40, "element_id": "7"}


def test_a_deal_deleted_meanwhile_is_refused_alone_in_today_s_words_and_the_others_are_written() -> None:
    crm = _crm(range(1, 11))
    del crm.deals["4"]
    reply = _run(crm, [_item(n) for n in range(1, 11)])
    refused = reply.results["deal-4:claim:r0"]
    assert refused["ok"] is False and refused["error"]["code"] == "deal_deleted"
    assert "was deleted in the CRM while it was being invoiced" in refused["error"]["message"]
    assert all(reply.results[f"deal-{n}:claim:r0"]["ok"] for n in range(1, 11) if n != 4)
    # The refusal named the deal: the others in one call, the deleted one alone on the single path.
    assert crm.batches == [[str(n) for n in range(1, 11)], [str(n) for n in range(1, 11) if n != 4]]
    assert reply.calls == 3 and (reply.ok, reply.rejected) == (9, 1)


def test_a_refusal_that_names_no_deal_is_bisected_down_to_the_bad_one() -> None:
    crm = _crm(range(1, 9), silent=True)
    del crm.deals["6"]
    reply = _run(crm, [_item(n) for n in range(1, 9)])
    assert reply.results["deal-6:claim:r0"]["error"]["code"] == "deal_deleted"
    assert all(reply.results[f"deal-{n}:claim:r0"]["ok"] for n in range(1, 9) if n != 6)
    assert crm.batches == [[str(n) for n in range(1, 9)], ["1", "2", "3", "4"], ["5", "6", "7", "8"], ["5", "6"],
                           ["7", "8"]]
    assert crm.log.count("update_markers") == 2  # 5 and 6 each alone


def test_an_undo_of_a_deleted_deal_is_done_with_nothing_to_restore() -> None:
    crm = _crm(range(1, 3))
    del crm.deals["2"]
    reply = _run(crm, [_item(n, undo=True, step="claim-undo") for n in (1, 2)])
    gone = reply.results["deal-2:claim-undo:r0"]
    assert gone["ok"] and gone["result"]["deal_gone"] is True and reply.results["deal-1:claim-undo:r0"]["ok"]


def test_a_429_on_the_batch_update_is_every_item_s_reply_and_nothing_is_written() -> None:
    crm = _crm(range(1, 6))
    crm.fail_next = TransientError("rate limited", service="hubspot", code="rate_limited", status=429,
                                   retry_after=2.0)
    reply = _run(crm, [_item(n) for n in range(1, 6)])
    assert reply.results == {} and reply.error is not None and reply.error["status"] == 429
    assert {crm.deals[str(n)].markers.sync_status for n in range(1, 6)} == {""}


def test_two_items_of_one_deal_in_a_batch_are_neither_written_and_each_retried() -> None:
    crm = _crm(range(1, 4))
    reply = _run(crm, [_item(1), _item(2), _item(2, step="write_back")])
    assert reply.results["deal-1:claim:r0"]["ok"] and crm.log == ["update_markers"]  # deal 1 alone
    for key in ("deal-2:claim:r0", "deal-2:write_back:r0"):
        assert reply.results[key]["error"]["code"] == "batch_duplicate_deal"
        assert reply.results[key]["error"]["kind"] == "transient"
    assert crm.deals["2"].markers.sync_status == ""


def test_a_crm_without_batch_updates_writes_each_deal_on_its_own() -> None:
    crm = FakeCrm()
    for n in (1, 2):
        crm.add_won_deal(str(n))
    reply = _run(crm, [_item(1), _item(2)])
    assert reply.ok == 2 and crm.log == ["update_markers", "update_markers"]


def test_steps_of_one_kind_name_their_items_and_events_after_the_step() -> None:
    events: list[str] = []

    def queue(operation: str, request: Any) -> Any:
        events.append(request["item"]["key"] + " " + request["item"]["event"])
        return {"solo": True}

    payload = MarkersInput(deal_id="1", values=SyncMarkers(), tx_id="deal-1", round=2).model_dump(mode="json")
    for step in ("claim", "write_back", "claim-undo"):
        ctx = FakeDurableContext(entities={(batching.QUEUE_ENTITY, "org:markers"): queue}, instance_id="deal-1",
                                 activities={"write_deal_markers": lambda p: {"ok": True, "result": {}}})
        ctx.run(batched("markers", "org", 60, step)(ctx, "write_deal_markers", payload, True, 1))
    assert events == ["deal-1:claim:r2 step:claim:r2:a1", "deal-1:write_back:r2 step:write_back:r2:a1",
                      "deal-1:claim-undo:r2 step:claim-undo:r2:a1"]


def test_an_undo_goes_through_its_step_s_compensation_attempt_numbered_on_after_earlier_runs() -> None:
    seen: list[tuple[str, int]] = []

    def attempt(ctx: Any, activity: str, payload: Any, envelope: bool, number: int) -> Generator[Any, Any, Any]:
        seen.append((activity, number))
        return {"ok": True, "result": {"restored": True}}
        yield  # a generator, as every attempt is

    policy = RetryPolicy(max_attempts=3, first_interval=1, max_interval=1)
    saga = Saga(steps=(Step("claim", "write_deal_markers", lambda s: {}, "write_deal_markers", lambda s: {},
                            compensation_attempt=attempt),), retry=policy, compensation_retry=policy)
    state = DealSagaState(input=DealSagaInput(tx_id="deal-1", deal_id="1", today="2026-01-05"))
    state.compensations.append(CompensationRecord(step="claim", activity="write_deal_markers", attempts=2,
                                                  status="failed"))
    ctx = FakeDurableContext(activities={})
    ctx.run(run_compensations(ctx, saga, state))
    # A person's second Compensate in the same round: attempt 3, never a name the first run used.
    assert seen == [("write_deal_markers", 3)] and state.compensations[0].status == "done"
