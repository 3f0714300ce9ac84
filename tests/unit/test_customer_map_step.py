"""The customer step with the customer map: a mapped company is read by id, never searched by its company id."""

from __future__ import annotations

from typing import Any

from orchestrators.deal_sync import deal_sync
from shared import names
from shared.domain.errors import PermanentError, TransientError
from shared.domain.invoice_mapping import MappingRules
from shared.sync import activities
from tests.support.fake_durable import FakeDurableContext
from tests.support.fake_ports import FakeAccounting, FakeCrm, FakeCustomerMap

POLICY = {"step_max_attempts": 3, "step_retry_first_seconds": 1, "step_retry_max_seconds": 10,
          "compensation_max_attempts": 3, "deadline_minutes": 60}


class World:
    """Two won deals of company 77, the in-memory ports and map; counts the searches by company id."""

    def __init__(self) -> None:
        self.crm, self.acct, self.map = FakeCrm(), FakeAccounting(), FakeCustomerMap()
        self.crm.add_won_deal("501", "77")
        self.crm.add_won_deal("502", "77")
        self.ports = activities.Ports(self.crm, self.acct, MappingRules(), "closedwon", customers=self.map)
        self.searches: list[str] = []
        self.reads: list[list[str]] = []
        find, get = self.acct.find_customer, self.acct.get_customers

        def searched(external_id: str, *, include_archived: bool = False) -> Any:
            self.searches.append(external_id)
            return find(external_id, include_archived=include_archived)

        def read(ids: Any) -> Any:
            self.reads.append(list(ids))
            return get(ids)

        self.acct.find_customer = searched  # type: ignore[method-assign]
        self.acct.get_customers = read  # type: ignore[method-assign]

    def run(self, deal_id: str) -> dict[str, Any]:
        acts: dict[str, Any] = {n: (lambda p, n=n: activities.run(n, p, self.ports)) for n in activities.HANDLERS}
        acts[names.RECORD_TRANSACTION] = lambda _row: None
        ctx = FakeDurableContext(activities=acts, instance_id=f"deal-{deal_id}",
                                 input={"deal_id": deal_id, "trigger": "webhook", "policy": POLICY})
        result: dict[str, Any] = ctx.run(deal_sync(ctx))
        return result

    def invoice_customers(self) -> list[str]:
        return [i["customer"] for i in self.acct.invoices.values()]


def test_a_new_company_is_searched_once_and_recorded_in_the_map() -> None:
    world = World()
    assert world.run("501")["status"] == "completed"
    assert world.searches == ["77"]  # no row yet: today's search by company id, then the create
    assert world.map.rows == {"77": "C1"}


def test_a_mapped_company_costs_one_read_by_id_and_no_search() -> None:
    world = World()
    world.run("501")
    world.searches.clear()
    writes = world.map.writes
    assert world.run("502")["status"] == "completed"
    assert world.searches == []
    assert world.reads == [["C1"]]
    assert world.invoice_customers() == ["C1", "C1"] and len(world.acct.customers) == 1
    assert world.map.writes == writes  # the row already said so: nothing to write


def test_a_mapped_contact_archived_behind_the_maps_back_is_reactivated_as_today() -> None:
    world = World()
    world.run("501")
    world.acct.customers["C1"]["status"] = "ARCHIVED"  # by a person in the accounting app
    world.searches.clear()
    assert world.run("502")["status"] == "completed"
    assert world.searches == []
    assert world.acct.customers["C1"]["status"] == "ACTIVE" and len(world.acct.customers) == 1
    assert world.invoice_customers() == ["C1", "C1"]


def test_a_mapped_contact_that_is_gone_falls_back_to_the_search_and_the_map_is_repaired() -> None:
    world = World()
    world.run("501")
    del world.acct.customers["C1"]  # gone (merged away, or another organisation connected)
    world.acct.customers["C0"] = {"id": "C0", "external_id": "", "name": "Someone else", "status": "ACTIVE"}
    world.searches.clear()
    assert world.run("502")["status"] == "completed"
    assert world.searches == ["77"]
    assert world.map.rows == {"77": "C2"} and world.invoice_customers() == ["C1", "C2"]


def test_a_mapped_contact_found_again_by_the_search_repairs_the_row() -> None:
    world = World()
    world.acct.customers["C9"] = {"id": "C9", "external_id": "77", "name": "Company 77", "status": "ACTIVE"}
    world.map.rows["77"] = "C5"  # a row naming a contact that no longer carries the company's id
    world.acct.customers["C5"] = {"id": "C5", "external_id": "other", "name": "Renumbered", "status": "ACTIVE"}
    assert world.run("501")["status"] == "completed"
    assert world.searches == ["77"]
    assert world.map.rows == {"77": "C9"} and world.invoice_customers() == ["C9"]


def test_the_map_unreadable_costs_the_search_not_the_step() -> None:
    world = World()
    world.run("501")
    world.map.faults.add("contact_id", TransientError("storage away", service="storage"))
    world.searches.clear()
    assert world.run("502")["status"] == "completed"
    assert world.searches == ["77"] and world.invoice_customers() == ["C1", "C1"]


def test_a_map_write_that_fails_leaves_the_saga_going_and_the_next_deal_repairs_it() -> None:
    world = World()
    world.map.faults.add("record", TransientError("storage away", service="storage"))
    assert world.run("501")["status"] == "completed"
    assert world.map.rows == {}
    assert world.run("502")["status"] == "completed"
    assert world.map.rows == {"77": "C1"} and len(world.acct.customers) == 1


def test_the_undo_keeps_the_row_and_the_next_deal_reactivates_the_contact_by_id() -> None:
    world = World()
    world.acct.faults.add("create_invoice", PermanentError("bad", service="xero"))
    assert world.run("501")["status"] == "compensated"
    # The contact we created is archived; the row still names it, as the accounting system still does.
    assert world.acct.customers["C1"]["status"] == "ARCHIVED" and world.map.rows == {"77": "C1"}
    world.searches.clear()
    assert world.run("502")["status"] == "completed"
    assert world.searches == [] and world.acct.customers["C1"]["status"] == "ACTIVE"
    assert len(world.acct.customers) == 1
