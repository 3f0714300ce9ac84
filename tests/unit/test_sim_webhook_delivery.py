"""The HubSpot simulator's webhook delivery: batches, duplicates, order, retry schedule (in process, real HTTP)."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from shared.connectors.hubspot_webhooks import verify_v3
from simulators.hubspot.webhooks import Dispatcher, Subscription, make_posts, retry_delay
from tests.connectors.receiver import Delivery, Receiver

SECRET = "app-client-secret"
FAST = 120 * 100  # a simulated 2 minutes last 10 ms


def events(n: int) -> list[dict[str, Any]]:
    return [{"eventId": i, "objectId": 1000 + i} for i in range(1, n + 1)]


def test_hubspot_retries_ten_times_over_about_a_day_starting_after_two_minutes_and_doubling() -> None:
    waits = [retry_delay(n) for n in range(1, 11)]
    assert waits[:8] == [120, 240, 480, 960, 1920, 3840, 7680, 15360]
    assert waits[8:] == [8 * 3600, 8 * 3600]  # doubling stops at 8 hours
    assert sum(waits) / 3600 == pytest.approx(24.5)
    assert retry_delay(1, time_scale=120) == pytest.approx(1.0)  # the simulator's time scale applies
    with pytest.raises(ValueError):
        retry_delay(0)


def test_a_burst_goes_out_in_posts_of_at_most_100_events_in_order_when_not_shuffled() -> None:
    posts = make_posts(events(250))
    assert [len(p) for p in posts] == [100, 100, 50]
    assert [e["eventId"] for p in posts for e in p] == list(range(1, 251))


def test_duplicates_are_delivered_again_in_posts_of_their_own_and_shuffling_is_repeatable_by_seed() -> None:
    posts = make_posts(events(150), duplicates=1.0)
    assert [len(p) for p in posts] == [100, 50, 100, 50]
    assert [e["eventId"] for p in posts[2:] for e in p] == list(range(1, 151))

    half = make_posts(events(100), duplicates=0.5, rng=random.Random(7))
    assert len(half) == 2 and 20 < len(half[1]) < 80  # about half of them, chosen at random

    mixed = make_posts(events(100), duplicates=0.3, shuffle=True, rng=random.Random(42))
    again = make_posts(events(100), duplicates=0.3, shuffle=True, rng=random.Random(42))
    assert mixed == again
    ids = [e["eventId"] for p in mixed for e in p]
    assert sorted(set(ids)) == list(range(1, 101)) and len(ids) > 100  # every event, some twice
    assert [e["eventId"] for e in max(mixed, key=len)] != sorted(e["eventId"] for e in max(mixed, key=len))


def subscribe(receiver: Receiver, time_scale: float = FAST, **settings: Any) -> Dispatcher:
    sub = Subscription.from_json({"targetUrl": receiver.url, "clientSecret": SECRET, "appId": 77, **settings})
    return Dispatcher(sub, portal_id=555, time_scale=time_scale).start()


def wait_idle(dispatcher: Dispatcher, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = dispatcher.status()
        if status["idle"]:
            return status
        time.sleep(0.01)
    raise AssertionError(f"not idle: {dispatcher.status()}")


def signed(receiver: Receiver, delivery: Delivery) -> bool:
    return verify_v3(SECRET, "POST", receiver.url, delivery.body, delivery.headers.get("X-HubSpot-Signature-v3"),
                     delivery.headers.get("X-HubSpot-Request-Timestamp"))


def test_changes_within_the_batch_window_arrive_as_one_signed_post_with_hubspots_event_fields() -> None:
    with Receiver() as receiver:
        dispatcher = subscribe(receiver, batch_window_ms=200)
        try:
            for i in range(120):
                dispatcher.event("deal.propertyChange", str(500 + i), 1_700_000_000_000 + i, "dealstage", "closedwon")
            assert dispatcher.event("deal.propertyChange", "9", 1, "amount", "5") is None  # not subscribed to
            status = wait_idle(dispatcher)
        finally:
            dispatcher.stop()
    assert [len(json.loads(d.body)) for d in receiver.deliveries] == [100, 20]
    assert all(signed(receiver, d) for d in receiver.deliveries)
    first = json.loads(receiver.deliveries[0].body)[0]
    assert first == {"eventId": 1, "subscriptionId": 1002, "portalId": 555, "appId": 77,
                     "occurredAt": 1_700_000_000_000, "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
                     "objectId": 500, "changeSource": "CRM_UI", "propertyName": "dealstage",
                     "propertyValue": "closedwon"}
    assert [(r["post"], r["attempt"], r["status"]) for r in status["deliveries"]] == [(1, 0, 200), (2, 0, 200)]


def test_a_post_answered_503_or_too_slowly_is_sent_again_with_attempt_number_counting_up() -> None:
    answers = iter([503, 500, 200])

    def answer(d: Delivery) -> int:
        return next(answers)

    with Receiver(answer=answer) as receiver:
        dispatcher = subscribe(receiver, batch_window_ms=0)
        try:
            dispatcher.event("deal.creation", "42", 1)
            status = wait_idle(dispatcher)
        finally:
            dispatcher.stop()
    bodies = [json.loads(d.body) for d in receiver.deliveries]
    assert [b[0]["attemptNumber"] for b in bodies] == [0, 1, 2]
    assert {b[0]["eventId"] for b in bodies} == {1} and bodies[0][0]["changeFlag"] == "NEW"
    assert all(signed(receiver, d) for d in receiver.deliveries)  # each attempt signed afresh
    records = status["deliveries"]
    assert [(r["post"], r["attempt"], r["status"]) for r in records] == [(1, 0, 503), (1, 1, 500), (1, 2, 200)]
    assert [r.get("retry_in_s") for r in records] == [0.01, 0.02, None]

    def slow(d: Delivery) -> int:
        if len(receiver.deliveries) == 1:
            time.sleep(0.5)
        return 200

    with Receiver(answer=slow) as receiver:
        dispatcher = subscribe(receiver, batch_window_ms=0, timeout_s=0.2)
        try:
            dispatcher.event("deal.creation", "43", 1)
            status = wait_idle(dispatcher)
        finally:
            dispatcher.stop()
    records = status["deliveries"]
    assert [(r["attempt"], r["status"]) for r in records] == [(0, None), (1, 200)]
    assert records[0]["error"] == "no answer within 0.2 s"


def test_a_post_that_keeps_failing_is_given_up_after_ten_retries() -> None:
    with Receiver(answer=lambda d: 503) as receiver:
        dispatcher = subscribe(receiver, time_scale=88200 / 0.5, batch_window_ms=0)  # a day in half a second
        try:
            dispatcher.event("deal.creation", "44", 1)
            status = wait_idle(dispatcher, timeout=30)
        finally:
            dispatcher.stop()
    assert [r["attempt"] for r in status["deliveries"]] == list(range(11))
    assert status["deliveries"][-1]["gave_up"] is True
    assert [json.loads(d.body)[0]["attemptNumber"] for d in receiver.deliveries] == list(range(11))


def test_held_events_wait_for_a_flush_and_stop_ends_the_thread() -> None:
    with Receiver() as receiver:
        dispatcher = subscribe(receiver, hold=True, batch_window_ms=0)
        try:
            for i in range(3):
                dispatcher.event("deal.creation", str(60 + i), 1)
            time.sleep(0.1)
            assert receiver.deliveries == [] and dispatcher.status()["pending"] == 3
            assert dispatcher.flush() == 3
            wait_idle(dispatcher)
        finally:
            dispatcher.stop()
        assert not dispatcher._thread.is_alive()
    assert [len(json.loads(d.body)) for d in receiver.deliveries] == [3]


@pytest.mark.parametrize("bad", [
    {}, {"targetUrl": "ftp://x", "clientSecret": "s"}, {"targetUrl": "http://x/", "clientSecret": ""},
    {"targetUrl": "http://x/", "clientSecret": "s", "max_batch": 101},
    {"targetUrl": "http://x/", "clientSecret": "s", "max_retries": 11},
    {"targetUrl": "http://x/", "clientSecret": "s", "subscriptions": [{"subscriptionType": "deal.propertyChange"}]},
    {"targetUrl": "http://x/", "clientSecret": "s", "colour": "blue"},
])
def test_a_subscription_missing_what_hubspot_needs_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Subscription.from_json(bad)
