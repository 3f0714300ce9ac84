"""Automatic retry: only a deal's newest rollback for an unreachable service, a few times in a row, never data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import names
from shared.application.auto_retry import retry_unreachable_rollbacks
from shared.config import Settings
from shared.domain.transaction import TransactionState
from tests.support.fake_client import FakeDurableClient
from tests.support.settings import sample_settings

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
UNREACHABLE = {"kind": "transient", "service": "xero", "code": "unavailable", "message": "503"}
DATA = {"kind": "rejected", "service": "sync", "code": "amount", "message": "over the limit"}


class Index:
    def __init__(self, rows: dict[str, tuple[str, str]]) -> None:
        self.rows = rows

    def index(self, start: datetime, end: datetime) -> dict[str, tuple[str, str]]:
        return self.rows


def settings(**changes: str) -> Settings:
    values = {**sample_settings(), "AUTO_RETRY_AFTER_MINUTES": "10", "AUTO_RETRY_MAX": "2", **changes}
    return Settings(**values)  # type: ignore[arg-type]  # the settings' names, as the app reads them


def tx(deal: str, generation: int, *, status: str = "compensated", reason: dict[str, Any] | None = UNREACHABLE,
       trigger: str = "webhook", minutes_ago: int = 30) -> TransactionState:
    tx_id = f"deal-{deal}" if generation == 1 else f"deal-{deal}-g{generation}"
    at = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return TransactionState(id=tx_id, deal_id=deal, generation=generation, status=status,  # type: ignore[arg-type]
                            reason=reason, trigger=trigger, created_at=at, updated_at=at)


def run(*states: TransactionState, **changes: str) -> tuple[list[str], FakeDurableClient]:
    client = FakeDurableClient()
    for s in states:
        client.finish(s.id, "Completed", {"status": s.status})
        client.entities[(names.SYNC_TRANSACTION, s.id)] = s.model_dump(mode="json")
    index = Index({s.id: (s.status, s.updated_at) for s in states})
    started = asyncio.run(retry_unreachable_rollbacks(client, index, settings(**changes), NOW - timedelta(days=2), NOW))
    return started, client


def test_a_rollback_because_xero_was_unreachable_gets_the_deals_next_generation() -> None:
    started, client = run(tx("1", 1))
    assert started == ["deal-1-g2"]
    assert client.starts[0][2]["trigger"] == "auto_retry" and client.starts[0][2]["generation"] == 2


def test_a_rollback_for_the_deals_own_data_is_left_for_a_person() -> None:
    assert run(tx("2", 1, reason=DATA))[0] == []


def test_a_rollback_is_retried_only_after_the_wait() -> None:
    assert run(tx("3", 1, minutes_ago=5))[0] == []


def test_after_auto_retry_max_retries_in_a_row_a_person_decides() -> None:
    chain = [tx("4", 1), tx("4", 2, trigger="auto_retry"), tx("4", 3, trigger="auto_retry")]
    assert run(*chain)[0] == []  # the older rollbacks of the same deal do not count as fresh ones


def test_a_deal_whose_newer_generation_was_rejected_for_its_data_is_not_retried_from_an_older_rollback() -> None:
    assert run(tx("5", 1), tx("5", 2, reason=DATA, trigger="manual"))[0] == []


def test_the_setting_turns_it_off() -> None:
    assert run(tx("6", 1), AUTO_RETRY_UNREACHABLE="false")[0] == []
