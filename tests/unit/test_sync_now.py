"""``POST /api/sync``: what starts a batch, and what is refused with a clear 4xx before anything starts."""

from __future__ import annotations

import asyncio
import json

import pytest

from shared import names
from shared.api.sync_now import sync_now
from shared.config import Settings, get_settings
from tests.support.fake_client import FakeDurableClient


@pytest.fixture
def settings(app_settings: dict[str, str]) -> Settings:
    return get_settings()


def call(body: bytes, settings: Settings, client: FakeDurableClient | None = None) -> tuple[int, dict[str, str]]:
    response = asyncio.run(sync_now(body, client or FakeDurableClient(), settings))
    return response.status, json.loads(response.body)


def test_a_backfill_since_a_date_starts_the_singleton_batch_from_that_date(settings: Settings) -> None:
    client = FakeDurableClient()
    status, body = call(b'{"since": "2026-11-01"}', settings, client)
    assert (status, body["id"]) == (202, names.BATCH_INSTANCE_ID)
    assert body["since"] == "2026-11-01T00:00:00+00:00"
    assert client.started_ids(names.BATCH_SYNC) == [names.BATCH_INSTANCE_ID]


@pytest.mark.parametrize(("body", "status", "error"), [
    (b'{"since": "' + b"2026-11-01" + b"0" * 100 + b'"}', 400, "invalid_parameter"),  # Python would parse it
    (b'{"since": 20261101}', 400, "invalid_parameter"),
    # Deep nesting under the size cap: Python 3.13's parser reads it (a list, not an object), still a clear 400.
    (b"[" * 2000 + b"]" * 2000, 400, "invalid_parameter"),
    (b'{"since": "2026-11-01", "pad": "' + b"x" * 5000 + b'"}', 413, "payload_too_large"),
], ids=["since-too-long", "since-a-number", "nested-deep", "too-large"])
def test_bad_or_oversized_bodies_are_refused_and_start_nothing(settings: Settings, body: bytes, status: int,
                                                               error: str) -> None:
    client = FakeDurableClient()
    got, answer = call(body, settings, client)
    assert (got, answer["error"]) == (status, error) and answer["message"]
    assert client.starts == []


def test_a_backfill_says_up_front_how_many_deals_todays_xero_budget_covers(settings: Settings) -> None:
    unbatched = settings.model_copy(update={"batched_steps": False})
    response = asyncio.run(sync_now(b'{"since": "2026-01-01"}', FakeDurableClient(), unbatched, 300))
    budget = json.loads(response.body)["xero_budget"]
    assert response.status == 202
    assert budget["calls_left_today"] == 300 and budget["deals_it_covers"] == 100
    assert "wait for Xero's daily limit to reset" in budget["message"] and "none fail" in budget["message"]


def test_a_batched_backfill_counts_on_a_tenth_of_a_call_a_deal_and_says_so(settings: Settings) -> None:
    # Batched, a backfill's deals share Xero calls (about 50 contacts or invoices a call): a day's budget
    # covers ten times as many deals as the per-deal 3 calls, and the answer must not send people waiting.
    assert settings.batched_steps
    response = asyncio.run(sync_now(b'{"since": "2026-01-01"}', FakeDurableClient(), settings, 300))
    budget = json.loads(response.body)["xero_budget"]
    assert budget["calls_left_today"] == 300 and budget["deals_it_covers"] == 3000
    assert "batches" in budget["message"] and "none fail" in budget["message"]
