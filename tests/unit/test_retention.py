"""History retention: what the purge asks the task hub for, and when it asks nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from shared.application.retention import purge_old_history
from tests.support.fake_client import FakeDurableClient

NOW = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)


def test_finished_history_older_than_the_retention_is_purged_and_running_instances_are_kept() -> None:
    client = FakeDurableClient()
    client.finish("deal-1", "Completed", {"status": "completed"})
    client.finish("hswh-abc", "Completed")
    client.finish("deal-2", "Running")  # waiting for a person: its history is how it goes on
    deleted = asyncio.run(purge_old_history(client, 30, NOW))
    assert deleted == 2 and client.purges == [NOW - timedelta(days=30)]
    assert list(client.instances) == ["deal-2"]


def test_a_retention_of_zero_days_keeps_history_for_ever() -> None:
    client = FakeDurableClient()
    client.finish("deal-1", "Completed")
    assert asyncio.run(purge_old_history(client, 0, NOW)) is None
    assert client.purges == [] and list(client.instances) == ["deal-1"]
