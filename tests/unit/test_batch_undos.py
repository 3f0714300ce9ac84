"""The batched Xero undos: many deals' invoice voids (kind ``void``) and customer archives (``archive``) a call.

Each deal's reply must be the one its single undo activity gives today; the fakes count the batch port's calls.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest

from shared.domain.errors import TransientError
from shared.domain.invoice_mapping import MappingRules
from shared.domain.models import Customer, InvoiceDraft
from shared.saga.envelope import run_activity
from shared.sync import batching, steps
from shared.sync.batch_port import OneByOne
from shared.sync.batch_steps import BatchReply, BatchRequest, run_batch
from shared.sync.messages import ArchiveCustomerInput, UndoInvoiceInput
from shared.sync.step_ports import Ports
from tests.support.fake_ports import FakeAccounting, FakeCrm


class CountingPort(OneByOne):
    """``OneByOne`` that records each batch call (method, how many elements) and can fail the next one."""

    def __init__(self, accounting: FakeAccounting) -> None:
        super().__init__(accounting)
        self.log: list[tuple[str, int]] = []
        self.fail_next: Exception | None = None

    def _seen(self, method: str, ids: Sequence[str]) -> None:
        self.log.append((method, len(ids)))
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure

    def void_invoices(self, invoice_ids: Sequence[str]) -> Any:
        self._seen("void_invoices", invoice_ids)
        return super().void_invoices(invoice_ids)

    def archive_customers(self, customer_ids: Sequence[str]) -> Any:
        self._seen("archive_customers", customer_ids)
        return super().archive_customers(customer_ids)

    def find_invoices_by_references(self, references: Sequence[str]) -> Any:
        self._seen("find_invoices_by_references", references)
        return super().find_invoices_by_references(references)

    def find_live_invoices_of(self, customer_ids: Sequence[str]) -> Any:
        self._seen("find_live_invoices_of", customer_ids)
        return super().find_live_invoices_of(customer_ids)

    def find_customers(self, external_ids: Sequence[str]) -> Any:
        self._seen("find_customers", external_ids)
        return super().find_customers(external_ids)


def _customer(acct: FakeAccounting, n: int) -> str:
    return acct.create_customer(Customer(external_id=f"co-{n}", name=f"Company {n}"), f"c-{n}").id


def _invoice(acct: FakeAccounting, n: int, customer_id: str, status: str = "AUTHORISED") -> str:
    draft = InvoiceDraft(customer_id=customer_id, reference=f"Deal {n}", currency="EUR", issue_date="2026-01-05",
                         due_date="2026-02-04", status="AUTHORISED", lines=())
    invoice_id = acct.create_invoice(draft, f"i-{n}").id
    acct.invoices[invoice_id]["status"] = status
    return invoice_id


def _item(n: int, payload: Any, step: str) -> batching.QueueItem:
    return batching.QueueItem(key=f"deal-{n}:{step}:r0", instance=f"deal-{n}", event="e", attempt=1,
                              payload={**payload.model_dump(mode="json"), "tx_id": f"deal-{n}", "round": 0})


def _run(acct: FakeAccounting, kind: str, items: list[batching.QueueItem]) -> tuple[BatchReply, CountingPort]:
    port = CountingPort(acct)
    ports = Ports(crm=FakeCrm(), accounting=acct, rules=MappingRules(), trigger_stage="closedwon")
    return run_batch(BatchRequest(batch_id="B", kind=kind, key="k", items=items), ports, port), port


def _single(acct: FakeAccounting, kind: str, payload: Any) -> dict[str, Any]:
    """The single activity's reply for the same undo, on a copy of the accounting system as it was."""
    fn = steps.undo_invoice_if_present if kind == "void" else steps.archive_customer_if_created
    return run_activity(lambda _p: fn(payload, acct), None)


def test_many_deals_invoices_are_voided_in_one_call_each_answered_as_its_single_undo() -> None:
    acct = FakeAccounting()
    customer_id = _customer(acct, 1)
    ids = {n: _invoice(acct, n, customer_id, "DRAFT" if n == 3 else "AUTHORISED") for n in range(1, 7)}
    ids[7] = "I-gone"  # never made, or removed: absent counts as done
    _invoice(acct, 8, customer_id, "VOIDED")
    payloads = {n: UndoInvoiceInput(reference=f"Deal {n}", invoice_id=i) for n, i in ids.items()}
    payloads[8] = UndoInvoiceInput(reference="Deal 8")  # the create never confirmed: found by its reference
    before = copy.deepcopy(acct)
    reply, port = _run(acct, "void", [_item(n, p, "invoice-undo") for n, p in payloads.items()])
    assert port.log == [("find_invoices_by_references", 1), ("void_invoices", 7)]
    for n, payload in payloads.items():
        assert reply.results[f"deal-{n}:invoice-undo:r0"] == _single(copy.deepcopy(before), "void", payload), n
    assert reply.results["deal-3:invoice-undo:r0"]["result"]["outcomes"] == {ids[3]: "deleted"}
    assert reply.results["deal-8:invoice-undo:r0"]["result"]["outcomes"] == {}
    assert reply.ok == 8 and {acct.invoices[ids[n]]["status"] for n in (1, 2, 4, 5, 6)} == {"VOIDED"}


def test_a_paid_invoice_is_refused_alone_in_the_single_undo_s_words_and_the_others_are_voided() -> None:
    acct = FakeAccounting()
    customer_id = _customer(acct, 1)
    ids = {n: _invoice(acct, n, customer_id, "PAID" if n == 2 else "AUTHORISED") for n in range(1, 4)}
    payloads = {n: UndoInvoiceInput(reference=f"Deal {n}", invoice_id=i) for n, i in ids.items()}
    single = _single(copy.deepcopy(acct), "void", payloads[2])
    reply, _port = _run(acct, "void", [_item(n, p, "invoice-undo") for n, p in payloads.items()])
    refused = reply.results["deal-2:invoice-undo:r0"]
    assert refused["ok"] is False and single["ok"] is False
    assert {k: refused["error"][k] for k in ("kind", "message", "code")} == {
        k: single["error"][k] for k in ("kind", "message", "code")}
    assert reply.results["deal-1:invoice-undo:r0"]["ok"] and reply.results["deal-3:invoice-undo:r0"]["ok"]
    assert (reply.ok, reply.rejected) == (2, 1) and acct.invoices[ids[2]]["status"] == "PAID"


@pytest.mark.parametrize("kind", ["void", "archive"])
def test_a_429_of_the_batch_call_is_every_item_s_reply_and_nothing_is_undone(kind: str) -> None:
    acct = FakeAccounting()
    customer_ids = {n: _customer(acct, n) for n in range(1, 4)}
    if kind == "void":
        items = [_item(n, UndoInvoiceInput(reference=f"Deal {n}", invoice_id=_invoice(acct, n, c)), "invoice-undo")
                 for n, c in customer_ids.items()]
    else:
        items = [_item(n, ArchiveCustomerInput(company_id=f"co-{n}", existed_before=False, customer_id=c,
                                               created=True, reference=f"Deal {n}"), "customer-undo")
                 for n, c in customer_ids.items()]
    before = acct.snapshot()
    port = CountingPort(acct)
    port.fail_next = TransientError("rate limited", service="xero", code="rate_limited", status=429, retry_after=3)
    ports = Ports(crm=FakeCrm(), accounting=acct, rules=MappingRules(), trigger_stage="closedwon")
    reply = run_batch(BatchRequest(batch_id="B", kind=kind, key="k", items=items), ports, port)
    assert reply.results == {} and reply.error is not None and reply.error["status"] == 429
    assert acct.snapshot() == before


def test_customers_are_archived_in_one_call_unless_kept_in_use_or_still_under_the_deal_s_own_invoice() -> None:
    acct = FakeAccounting()
    c = {n: _customer(acct, n) for n in range(1, 8)}
    _invoice(acct, 10, c[3])  # another deal's live invoice on customer 3: it is theirs too now
    _invoice(acct, 4, c[4], "PAID")  # deal 4's own invoice could not be voided
    _invoice(acct, 5, c[5], "VOIDED")  # deal 5's own invoice, voided by its undo before this one
    acct.customers[c[6]]["status"] = "ARCHIVED"  # already archived: done
    payloads = {n: ArchiveCustomerInput(company_id=f"co-{n}", existed_before=False, customer_id=c[n], created=True,
                                        reference=f"Deal {n}") for n in (1, 3, 4, 5, 6)}
    payloads[2] = ArchiveCustomerInput(company_id="co-2", existed_before=True, customer_id=c[2], created=False)
    payloads[7] = ArchiveCustomerInput(company_id="co-7", existed_before=False, reference="Deal 7")  # unconfirmed
    payloads[8] = ArchiveCustomerInput(company_id="co-8", existed_before=False, reference="Deal 8")  # none made
    before = copy.deepcopy(acct)
    reply, port = _run(acct, "archive", [_item(n, p, "customer-undo") for n, p in payloads.items()])
    assert port.log == [("find_customers", 2), ("find_live_invoices_of", 6), ("archive_customers", 4)]
    for n, payload in payloads.items():
        assert reply.results[f"deal-{n}:customer-undo:r0"] == _single(copy.deepcopy(before), "archive", payload), n
    outcomes = {n: r.get("result", {}).get("outcome") for n in payloads
                for r in [reply.results[f"deal-{n}:customer-undo:r0"]]}
    assert outcomes == {1: "archived", 2: "kept", 3: "in_use", 4: None, 5: "archived", 6: "archived",
                        7: "archived", 8: "absent"}
    assert reply.results["deal-4:customer-undo:r0"]["error"]["code"] == "customer_in_use"
    assert {n for n, cid in c.items() if acct.customers[cid]["status"] == "ARCHIVED"} == {1, 5, 6, 7}
    assert (reply.ok, reply.rejected) == (7, 1)


def test_the_undos_of_the_customer_and_invoice_steps_go_through_batches_of_their_own_kinds() -> None:
    from shared.sync.deal_saga import STEPS, build_deal_saga
    from shared.sync.policy import SagaPolicy

    undo_kinds = {s.name: s.undo_batch for s in STEPS if s.undo_batch}
    assert undo_kinds == {"claim": "markers", "customer": "archive", "invoice": "void", "write_back": "markers"}
    saga = build_deal_saga(SagaPolicy(batched_steps=True))
    assert {s.name for s in saga.steps if s.compensation_attempt is not None} == set(undo_kinds)
    assert batching.MAX_ITEMS["void"] == batching.MAX_ITEMS["archive"] == 50  # Xero's IDs= lists take 50


def test_the_undo_inputs_name_the_deal_s_item_by_its_transaction_and_round() -> None:
    from shared.sync.deal_saga import STEPS, DealSagaInput, DealSagaState

    state = DealSagaState.model_validate({
        "input": DealSagaInput(tx_id="deal-9", deal_id="9", today="2026-01-05", round=2).model_dump(mode="json"),
        "load": {"deal": {"id": "9", "name": "D", "stage": "closedwon", "company_ids": ["77"]}, "line_items": [],
                 "company_id": "77", "existing_customer": None, "previous": {}, "deal_name": "D", "amount": "1",
                 "currency": "EUR", "external_ids": {}}})
    for step in (s for s in STEPS if s.name in ("customer", "invoice")):
        assert step.undo is not None
        payload = step.undo.payload(state)
        assert (payload["tx_id"], payload["round"]) == ("deal-9", 2), step.name
