"""The webhook_batch orchestrator: every deal a delivery accepted ends in a started or deduplicated deal_sync."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orchestrators.start_rounds import START_RETRY, WebhookBatchFailed
from orchestrators.webhook_batch import webhook_batch
from shared import names
from shared.application import deal_sync_starts
from shared.application.messages import DealSyncStarts
from shared.sync.policy import SagaPolicy
from tests.support.fake_client import FakeDurableClient
from tests.support.fake_durable import FakeDurableContext

POLICY = SagaPolicy(step_max_attempts=4)


def batch_input(*deal_ids: str) -> dict[str, Any]:
    return DealSyncStarts(deal_ids=list(deal_ids), trigger="webhook", policy=POLICY).model_dump(mode="json")


def context_with(client: FakeDurableClient, *deal_ids: str) -> FakeDurableContext:
    """The orchestrator with the real start_deal_syncs activity over an in-memory task hub."""

    def start_deal_syncs(payload: dict[str, Any]) -> dict[str, Any]:
        request = DealSyncStarts.model_validate(payload)
        return asyncio.run(deal_sync_starts.start_deal_syncs(client, request.deal_ids, request.trigger,
                                                             request.policy)).as_json()

    return FakeDurableContext(activities={names.START_DEAL_SYNCS: start_deal_syncs}, input=batch_input(*deal_ids),
                              instance_id="hswh-test")


def test_the_batch_starts_a_deal_sync_per_deal_and_reports_what_it_started_and_found() -> None:
    client = FakeDurableClient()
    client.finish("deal-2", "Completed", {"status": "completed"})  # synced before (by the schedule, say)
    ctx = context_with(client, "1", "2", "3")
    result = ctx.run(webhook_batch(ctx))
    assert result == {"accepted": ["deal-1", "deal-2", "deal-3"], "started": ["deal-1", "deal-3"],
                      "duplicates": ["deal-2"], "waited_for": []}
    assert ctx.names() == [names.START_DEAL_SYNCS] and ctx.timers == []
    assert all(payload["policy"] == POLICY.model_dump(mode="json") for _, _, payload in client.starts)


def test_a_start_that_fails_is_retried_after_a_durable_timer_and_no_deal_is_lost_or_started_twice() -> None:
    client = FakeDurableClient(refuse={"deal-2": 2})  # the task hub refuses deal-2 twice, then recovers
    ctx = context_with(client, "1", "2", "3")
    result = ctx.run(webhook_batch(ctx))
    assert ctx.names() == [names.START_DEAL_SYNCS] * 3
    assert ctx.timers == [START_RETRY.delay(1), START_RETRY.delay(2)]
    assert sorted(client.started_ids(names.DEAL_SYNC)) == ["deal-1", "deal-2", "deal-3"]  # each exactly once
    assert result["started"] == ["deal-2"] and result["duplicates"] == ["deal-1", "deal-3"]  # the last attempt's view


def test_a_batch_whose_starts_keep_failing_ends_failed_so_a_redelivery_starts_it_again() -> None:
    client = FakeDurableClient(refuse={"deal-2": 1000})
    ctx = context_with(client, "1", "2")
    with pytest.raises(WebhookBatchFailed, match="hswh-test"):
        ctx.run(webhook_batch(ctx))
    assert len(ctx.calls) == START_RETRY.max_attempts and len(ctx.timers) == START_RETRY.max_attempts - 1
    assert sum(ctx.timers) > 40 * 60  # it kept trying for the best part of an hour before giving up


def test_the_batch_reports_its_deals_in_the_order_they_were_accepted_even_when_one_had_to_wait() -> None:
    client = FakeDurableClient()
    client.finish("deal-1", "Running")  # still before its read of the deal: the win waits for it to finish
    client.finish("deal-2", "Completed", {"status": "completed"})
    ctx = context_with(client, "1", "2")
    real = ctx.activities[names.START_DEAL_SYNCS]

    def start_then_finish(payload: dict[str, Any]) -> dict[str, Any]:
        out = real(payload)
        client.finish("deal-1", "Completed", {"status": "completed"})  # it ends while the batch waits
        return out

    ctx.activities[names.START_DEAL_SYNCS] = start_then_finish
    result = ctx.run(webhook_batch(ctx))
    assert result["waited_for"] == ["deal-1"] and len(ctx.timers) == 1
    # An operator reads the output against the delivery: one order, whatever order the answers came in.
    assert result["duplicates"] == ["deal-1", "deal-2"] and result["started"] == []
