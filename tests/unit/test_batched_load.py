"""The batched load (many deals, one CRM batch read, no accounting lookup) and the customer step's grouped lookup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from shared.domain.errors import BusinessRejection, PermanentError, SyncError
from shared.domain.invoice_mapping import MappingRules
from shared.domain.models import Company, CustomerRef, DealSnapshot
from shared.sync import batching, steps
from shared.sync.batch_port import OneByOne
from shared.sync.batch_steps import BatchRequest, run_batch
from shared.sync.messages import EnsureCustomerInput, LoadDealInput
from shared.sync.step_ports import Ports
from tests.support.fake_ports import FakeAccounting, FakeCrm, FakeCustomerMap


class BatchFakeCrm(FakeCrm):
    """A CRM with batch reads: ``batches`` records each read's deal ids."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def get_deal_snapshots(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | SyncError]:
        self.batches.append(list(deal_ids))
        out: dict[str, DealSnapshot | SyncError] = {}
        for i in deal_ids:
            deal = self.deals.get(i)
            out[i] = (PermanentError(f"deal {i}: not found", service="hubspot", code="not_found") if deal is None
                      else DealSnapshot(deal=deal, line_items=tuple(self.items[n] for n in deal.line_item_ids),
                                        company=self.companies.get(deal.company_ids[0]) if deal.company_ids else None))
        return out


class CountingAccounting(FakeAccounting):
    def __init__(self) -> None:
        super().__init__()
        self.lookups: list[str] = []

    def find_customer(self, external_id: str, *, include_archived: bool = False) -> CustomerRef | None:
        self.lookups.append(external_id)
        return super().find_customer(external_id, include_archived=include_archived)

    def get_customers(self, ids: Sequence[str]) -> dict[str, CustomerRef]:
        self.lookups.append("IDs=" + ",".join(ids))
        return super().get_customers(ids)


class SpyPort(OneByOne):
    def __init__(self, accounting: FakeAccounting, refuse: bool = False) -> None:
        super().__init__(accounting)
        self.searched: list[list[str]] = []
        self.refuse = refuse

    def find_customers(self, external_ids: Sequence[str]) -> dict[str, CustomerRef]:
        self.searched.append(list(external_ids))
        if self.refuse:
            raise BusinessRejection("contacts: Your request is not filtering Contacts efficiently", service="xero",
                                    code="validation", details={"type": "HighVolumeException"})
        return super().find_customers(external_ids)


def _ports(acct: FakeAccounting, crm: FakeCrm, customers: FakeCustomerMap | None = None) -> Ports:
    return Ports(crm=crm, accounting=acct, rules=MappingRules(), trigger_stage="closedwon", customers=customers)


def _load_item(deal_id: str) -> batching.QueueItem:
    payload = LoadDealInput(tx_id=f"deal-{deal_id}", deal_id=deal_id, today=date(2026, 1, 5))
    return batching.QueueItem(key=f"deal-{deal_id}:load:r0", instance=f"deal-{deal_id}", event="e", attempt=1,
                              payload=payload.model_dump(mode="json"))


def test_a_batch_of_loads_is_one_crm_read_with_each_deal_answered_as_alone_and_no_accounting_lookup() -> None:
    crm, acct = BatchFakeCrm(), CountingAccounting()
    for n in ("1", "2"):
        crm.add_won_deal(n, company_id=f"7{n}")
    crm.deals["3"] = crm.add_won_deal("3").model_copy(update={"stage": "appointmentscheduled"})
    crm.deals["4"] = crm.add_won_deal("4").model_copy(update={"company_ids": ()})
    acct.create_customer(  # company 71 has a customer already: the load does not look for it
        steps.Customer(external_id="71", name="Company 71"), "k")
    items = [_load_item(n) for n in ("1", "2", "3", "4", "9")]

    reply = run_batch(BatchRequest(batch_id="B", kind="load", key="k", items=items), _ports(acct, crm),
                      OneByOne(acct))

    assert crm.batches == [["1", "2", "3", "4", "9"]] and acct.lookups == []
    one = reply.results["deal-1:load:r0"]
    assert one["ok"] and one["result"]["existing_customer"] is None and one["result"]["customer_looked_up"] is False
    assert one["result"]["company"]["id"] == "71" and one["result"]["batch"]["batch_id"] == "B"
    assert reply.results["deal-3:load:r0"]["halt"] == "skipped"
    assert reply.results["deal-4:load:r0"]["error"]["code"] == "no_company"
    missing = reply.results["deal-9:load:r0"]
    assert missing["ok"] is False and missing["error"]["code"] == "not_found"


def test_a_crm_without_batch_reads_is_read_one_deal_at_a_time_with_the_same_replies() -> None:
    crm, acct = FakeCrm(), CountingAccounting()
    crm.add_won_deal("1")
    reply = run_batch(BatchRequest(batch_id="B", kind="load", key="k", items=[_load_item("1"), _load_item("9")]),
                      _ports(acct, crm), OneByOne(acct))
    assert reply.results["deal-1:load:r0"]["ok"] and acct.lookups == []
    assert reply.results["deal-9:load:r0"]["error"]["code"] == "not_found"


def _customer_item(n: int, company_id: str, **extra: Any) -> batching.QueueItem:
    payload = EnsureCustomerInput(tx_id=f"deal-{n}", round=0, company_id=company_id,
                                  company=Company(id=company_id, name=f"Company {company_id}"), **extra)
    return batching.QueueItem(key=f"deal-{n}:customer:r0", instance=f"deal-{n}", event="e", attempt=1,
                              payload=payload.model_dump(mode="json"))


def test_the_batched_customer_step_looks_the_companies_up_by_map_then_one_search_and_creates_only_the_rest() -> None:
    acct, customers = CountingAccounting(), FakeCustomerMap()
    mapped = acct.create_customer(steps.Customer(external_id="71", name="Company 71"), "k1")
    customers.rows["71"] = mapped.id
    archived = acct.create_customer(steps.Customer(external_id="72", name="Company 72"), "k2")
    acct.archive_customer(archived.id)
    acct.lookups.clear()
    port = SpyPort(acct)
    items = [_customer_item(1, "71", look_up=True), _customer_item(2, "72", look_up=True),
             _customer_item(3, "73", look_up=True), _customer_item(4, "71", look_up=True)]

    reply = run_batch(BatchRequest(batch_id="B", kind="customer", key="k", items=items),
                      _ports(acct, FakeCrm(), customers), port)

    assert acct.lookups[0] == f"IDs={mapped.id}" and port.searched == [["72", "73"]]
    one, four = reply.results["deal-1:customer:r0"]["result"], reply.results["deal-4:customer:r0"]["result"]
    assert (one["customer"]["id"], one["created"], four["customer"]["id"], four["created"]) == (
        mapped.id, False, mapped.id, False)
    two = reply.results["deal-2:customer:r0"]["result"]
    assert two["customer"]["id"] == archived.id and two["created"] is True  # reactivated: its undo archives again
    assert acct.customers[archived.id]["status"] == "ACTIVE" and customers.rows["72"] == archived.id
    three = reply.results["deal-3:customer:r0"]["result"]
    assert three["created"] is True and acct.customers[three["customer"]["id"]]["external_id"] == "73"
    assert len(acct.customers) == 3


def test_a_big_organisation_refusing_the_search_still_finds_mapped_companies_and_refuses_the_others() -> None:
    acct, customers = CountingAccounting(), FakeCustomerMap()
    mapped = acct.create_customer(steps.Customer(external_id="71", name="Company 71"), "k1")
    customers.rows["71"] = mapped.id
    items = [_customer_item(1, "71", look_up=True), _customer_item(2, "73", look_up=True)]
    reply = run_batch(BatchRequest(batch_id="B", kind="customer", key="k", items=items),
                      _ports(acct, FakeCrm(), customers), SpyPort(acct, refuse=True))
    assert reply.results["deal-1:customer:r0"]["result"]["customer"]["id"] == mapped.id
    refused = reply.results["deal-2:customer:r0"]
    assert refused["ok"] is False and "not filtering Contacts efficiently" in refused["error"]["message"]
    assert len(acct.customers) == 1  # nothing created for a company that could not be looked up


def test_a_lone_customer_step_after_a_batched_load_looks_the_customer_up_first() -> None:
    acct = CountingAccounting()
    existing = acct.create_customer(steps.Customer(external_id="71", name="Old name"), "k1")
    request = EnsureCustomerInput(tx_id="deal-1", round=0, company_id="71", look_up=True,
                                  company=Company(id="71", name="Renamed in the CRM"))
    result = steps.ensure_customer(request, FakeCrm(), acct)
    assert (result.customer.id, result.created) == (existing.id, False) and acct.lookups == ["71"]
    assert len(acct.customers) == 1
