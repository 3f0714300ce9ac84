"""A HubSpot delivery's deals handed to one ``webhook_batch`` run: whether they may go alone to their calls."""

from __future__ import annotations

import asyncio

import pytest

from shared import names
from shared.application.webhook_batch_start import start_webhook_batch
from shared.config import Settings, get_settings
from tests.support.fake_client import FakeDurableClient


@pytest.fixture
def settings(app_settings: dict[str, str]) -> Settings:
    return get_settings()


def _policy(settings: Settings, deal_ids: list[str]) -> dict[str, object]:
    client = FakeDurableClient()
    asyncio.run(start_webhook_batch(client, "delivery-1", deal_ids, settings))
    [(orchestrator, _, request)] = client.starts
    assert orchestrator == names.WEBHOOK_BATCH
    policy: dict[str, object] = request["policy"]
    return policy


def test_a_delivery_of_several_won_deals_queues_them_for_shared_batches(settings: Settings) -> None:
    assert _policy(settings, ["101", "102", "103"])["batch_solo"] is False


def test_a_delivery_s_lone_deal_goes_straight_to_its_calls(settings: Settings) -> None:
    # The same deal twice in one delivery (a retried event) is still one deal.
    assert _policy(settings, ["101", "101"])["batch_solo"] is True
