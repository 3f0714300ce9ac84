"""Starting a deal's life events: one at a time per deal, after its sync, never lost, never two side by side."""

from __future__ import annotations

import asyncio

import pytest

from shared import names
from shared.application.life_event_starts import start_life_events
from shared.application.messages import LifeEventStarts, StartReport
from tests.support.fake_client import FakeDurableClient


def start(client: FakeDurableClient, **events: str) -> StartReport:
    return asyncio.run(start_life_events(client, LifeEventStarts.model_validate({"events": events})))


def test_the_first_life_event_of_an_invoiced_deal_is_its_change1_with_the_settings_frozen_in() -> None:
    client = FakeDurableClient()
    client.finish("deal-501")
    report = start(client, **{"501": "changed"})
    assert report.started == ["deal-501-change1"] and report.waiting == {}
    [(orchestrator, _, payload)] = client.starts
    assert orchestrator == names.DEAL_CHANGE and payload["event"] == "changed" and payload["on_lost"] == "void"


def test_a_life_event_waits_while_the_deals_sync_or_an_earlier_life_event_still_runs() -> None:
    client = FakeDurableClient()
    client.finish("deal-501", "Running")
    assert start(client, **{"501": "lost"}).waiting == {"501": "deal-501"}
    client.finish("deal-501")
    client.finish("deal-501-change1", "Running")
    assert start(client, **{"501": "lost"}).waiting == {"501": "deal-501-change1"}
    assert client.starts == []  # nothing side by side


def test_a_life_event_not_begun_yet_covers_a_later_one_and_a_finished_one_is_followed_by_the_next() -> None:
    client = FakeDurableClient()
    client.finish("deal-501")
    client.finish("deal-501-change1", "Pending")
    assert start(client, **{"501": "changed"}).duplicates == ["deal-501-change1"]
    client.finish("deal-501-change1")
    # change2's history was purged, its transaction stays: its id is never used again.
    client.entities[(names.SYNC_TRANSACTION, "deal-501-change2")] = {"status": "completed"}
    assert start(client, **{"501": "changed"}).started == ["deal-501-change3"]


def test_a_rerun_of_the_start_activity_starts_nothing_twice() -> None:
    client = FakeDurableClient()
    first = start(client, **{"501": "deleted", "502": "changed"})
    again = start(client, **{"501": "deleted", "502": "changed"})
    assert first.started == ["deal-501-change1", "deal-502-change1"]
    assert again.duplicates == first.started and len(client.starts) == 2


@pytest.mark.parametrize("value", ["closedwon\u0000", "closedwon\U0001f600", "closedwona/b#c?d", "closedwon\b",
                                   "closedlost\n", "", None, 42, "x" * 101])
def test_a_stage_change_to_a_value_no_pipeline_stage_can_have_is_not_a_life_event(value: object) -> None:
    from shared.api.hubspot_life_events import life_event_of
    event = {"subscriptionType": "deal.propertyChange", "objectId": 5, "propertyName": "dealstage",
             "propertyValue": value}
    assert life_event_of(event, "closedwon") is None


@pytest.mark.parametrize("value", ["closedlost", "appointmentscheduled", "1234567", "stage_2-b"])
def test_a_stage_change_away_from_won_is_a_loss_to_look_at(value: str) -> None:
    from shared.api.hubspot_life_events import life_event_of
    event = {"subscriptionType": "deal.propertyChange", "objectId": 5, "propertyName": "dealstage",
             "propertyValue": value}
    assert life_event_of(event, "closedwon") == ("5", "lost")
