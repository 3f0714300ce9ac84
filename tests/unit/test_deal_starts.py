"""Starting deal syncs off the request path: once per transaction, never a lost deal, a bounded pace per worker."""

from __future__ import annotations

import asyncio

import pytest

from shared import names
from shared.application import deal_sync_starts
from shared.application.deal_sync_starts import start_deal_syncs
from shared.application.messages import StartReport
from shared.application.paid_invoice_starts import start_paid_invoice_syncs
from shared.sync.policy import SagaPolicy
from tests.support.fake_client import FakeDurableClient, TaskHubDown

POLICY = SagaPolicy(step_max_attempts=3, deadline_minutes=30)


def start(client: FakeDurableClient, deal_ids: list[str]) -> StartReport:
    return asyncio.run(start_deal_syncs(client, deal_ids, "webhook", POLICY))


def test_each_deal_without_a_transaction_gets_one_deal_sync_carrying_the_policy_frozen_at_acceptance() -> None:
    client = FakeDurableClient()
    report = start(client, ["10", "11", "10"])
    assert report.started == ["deal-10", "deal-11"] and report.duplicates == []
    assert [(name, iid) for name, iid, _ in client.starts] == [(names.DEAL_SYNC, "deal-10"),
                                                               (names.DEAL_SYNC, "deal-11")]
    first = client.starts[0][2]
    assert first["deal_id"] == "10" and first["trigger"] == "webhook"
    assert first["policy"] == POLICY.model_dump(mode="json")


def test_a_deal_invoiced_or_with_a_person_is_a_duplicate_but_one_that_ended_without_an_invoice_gets_a_new_one() -> None:
    client = FakeDurableClient()
    client.finish("deal-2", "Completed", {"status": "completed"})
    client.finish("deal-3", "Completed", {"status": "needs_attention"})
    client.finish("deal-4", "Completed", {"status": "skipped"})  # ran before the deal was won
    client.finish("deal-5", "Completed", {"status": "compensated"})  # rolled back for bad data, fixed since
    report = start(client, ["2", "3", "4", "5"])
    assert report.duplicates == ["deal-2", "deal-3"]
    # The earlier transactions stay as they ended; the win is the deal's next generation.
    assert report.started == ["deal-4-g2", "deal-5-g2"] and client.started_ids() == ["deal-4-g2", "deal-5-g2"]
    assert client.starts[0][2]["generation"] == 2


def test_a_win_meeting_a_run_that_has_not_gone_past_reading_the_deal_waits_for_it_instead_of_being_swallowed() -> None:
    client = FakeDurableClient()
    for tx in ("deal-1", "deal-2", "deal-3", "deal-4"):
        client.finish(tx, "Running")
    # deal-1: nothing recorded yet; deal-2: read the deal (maybe before the win), nothing after.
    client.entities[(names.SYNC_TRANSACTION, "deal-2")] = {"status": "running", "steps": [{"name": "load"}]}
    # deal-3: went on to claim the deal, so it was won when read; deal-4 waits for a person.
    client.entities[(names.SYNC_TRANSACTION, "deal-3")] = {"status": "running",
                                                           "steps": [{"name": "load"}, {"name": "claim"}]}
    client.entities[(names.SYNC_TRANSACTION, "deal-4")] = {"status": "needs_attention", "steps": []}
    report = start(client, ["1", "2", "3", "4"])
    assert report.waiting == {"1": "deal-1", "2": "deal-2"}
    assert report.duplicates == ["deal-3", "deal-4"] and report.started == [] and client.starts == []


def test_a_deal_skipped_twice_before_it_was_won_is_started_as_its_third_generation_and_only_once() -> None:
    client = FakeDurableClient()
    client.finish("deal-5", "Completed", {"status": "skipped"})
    client.finish("deal-5-g2", "Completed", {"status": "skipped"})
    assert start(client, ["5"]).started == ["deal-5-g3"]
    assert start(client, ["5"]).duplicates == ["deal-5-g3"]  # a redelivery meets the running one
    assert client.started_ids() == ["deal-5-g3"]


def test_a_transaction_whose_history_was_purged_is_known_by_its_entity() -> None:
    client = FakeDurableClient()  # no instances left: finished ones were purged after the retention
    client.entities[(names.SYNC_TRANSACTION, "deal-6")] = {"id": "deal-6", "status": "completed"}
    client.entities[(names.SYNC_TRANSACTION, "deal-9")] = {"id": "deal-9", "status": "skipped"}
    report = start(client, ["6", "9"])
    assert report.duplicates == ["deal-6"] and report.started == ["deal-9-g2"]


def test_a_deal_started_by_another_trigger_in_between_is_a_duplicate_not_an_error() -> None:
    client = FakeDurableClient()

    def schedule_wins(instance_id: str) -> None:
        if instance_id == "deal-7":
            client.finish("deal-7", "Running")  # the scheduled batch started it after our status read

    client.before_start = schedule_wins
    report = start(client, ["7", "8"])
    assert report.duplicates == ["deal-7"] and report.started == ["deal-8"]


def test_a_start_the_task_hub_refused_is_never_reported_as_a_duplicate_and_fails_after_trying_every_deal() -> None:
    client = FakeDurableClient(refuse={"deal-21": 1})
    with pytest.raises(TaskHubDown):
        start(client, ["20", "21", "22"])
    # The other deals were started all the same; deal-21 has no transaction and is left for the retry.
    assert client.started_ids() == ["deal-20", "deal-22"]
    assert "deal-21" not in client.instances


def test_running_again_after_a_partial_failure_starts_only_the_deals_still_missing() -> None:
    client = FakeDurableClient(refuse={"deal-21": 1})
    with pytest.raises(TaskHubDown):
        start(client, ["20", "21", "22"])
    again = start(client, ["20", "21", "22"])  # the activity's retry (or the host re-running it)
    assert again.started == ["deal-21"] and again.duplicates == ["deal-20", "deal-22"]
    assert sorted(client.started_ids()) == ["deal-20", "deal-21", "deal-22"]  # each exactly once


def test_a_worker_starts_at_most_start_concurrency_deals_at_once_across_all_its_batches() -> None:
    client = FakeDurableClient()

    async def many_batches() -> list[StartReport]:
        return list(await asyncio.gather(*(start_deal_syncs(client, [str(b * 100 + i) for i in range(20)],
                                                           "webhook", POLICY) for b in range(5))))

    reports = asyncio.run(many_batches())
    assert sum(len(r.started) for r in reports) == 100
    assert client.max_in_flight == deal_sync_starts.START_CONCURRENCY



def test_an_invoice_event_while_its_write_back_runs_tells_that_run_to_read_the_invoice_again() -> None:
    client = FakeDurableClient()
    client.finish("paid-inv-1", "Running")
    report = asyncio.run(start_paid_invoice_syncs(client, ["inv-1"]))
    assert client.events == [("paid-inv-1", names.EVENT_RECHECK, {"invoice_id": "inv-1"})]
    assert report.duplicates == ["paid-inv-1"] and client.starts == []


def test_an_invoice_event_whose_running_write_back_ends_meanwhile_gets_a_run_of_its_own() -> None:
    client = FakeDurableClient()
    client.finish("paid-inv-2", "Running")

    async def ended_on_raise(instance_id: str, event: str, data: object) -> None:
        client.finish(instance_id, "Completed", {"outcome": "marked_partially_paid"})

    client.raise_event = ended_on_raise  # type: ignore[method-assign]
    report = asyncio.run(start_paid_invoice_syncs(client, ["inv-2"]))
    assert report.started == ["paid-inv-2"] and client.started_ids(names.INVOICE_PAID) == ["paid-inv-2"]


def test_an_invoice_event_after_the_deal_was_marked_paid_starts_nothing_and_raises_nothing() -> None:
    client = FakeDurableClient()
    client.finish("paid-inv-3", "Completed", {"outcome": "marked_paid"})
    report = asyncio.run(start_paid_invoice_syncs(client, ["inv-3"]))
    assert report.duplicates == ["paid-inv-3"] and client.starts == [] and client.events == []
