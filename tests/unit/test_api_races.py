"""Two clicks, two triggers, a store that is down: the API answers 409 or 503 with a JSON error, never 500."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import names
from shared.api import transactions
from shared.api.sync_now import sync_now
from shared.config import Settings, get_settings
from shared.connectors.hubspot_webhooks import verify_v3
from tests.support.fake_client import FakeDurableClient, TaskHubDown


@pytest.fixture
def settings(app_settings: dict[str, str]) -> Settings:
    return get_settings()


def _answer(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status, json.loads(response.body)


def test_a_sync_request_that_loses_the_start_race_to_the_schedule_is_a_409(settings: Settings) -> None:
    client = FakeDurableClient()
    client.before_start = lambda iid: client.finish(iid, "Running")  # the timer started it after our read
    status, body = _answer(asyncio.run(sync_now(b"", client, settings)))
    assert (status, body["error"]) == (409, "conflict")


def test_a_sync_request_while_the_task_hub_is_down_is_a_503(settings: Settings) -> None:
    client = FakeDurableClient(refuse={names.BATCH_INSTANCE_ID: 1})
    status, body = _answer(asyncio.run(sync_now(b"", client, settings)))
    assert (status, body["error"]) == (503, "unavailable")


def _compensated(client: FakeDurableClient, tx: str = "deal-5") -> None:
    client.entities[(names.SYNC_TRANSACTION, tx)] = {"id": tx, "deal_id": "5", "status": "compensated"}


def test_two_clicks_on_retry_of_a_rolled_back_deal_start_one_new_generation(settings: Settings) -> None:
    client = FakeDurableClient()
    _compensated(client)
    first = _answer(asyncio.run(transactions.act("deal-5", "retry", client, settings)))
    second = _answer(asyncio.run(transactions.act("deal-5", "retry", client, settings)))
    assert first == (202, {"id": "deal-5-g2", "action": "retry", "previous": "deal-5"})
    assert second[0] == 409 and second[1]["error"] == "conflict"
    assert client.started_ids() == ["deal-5-g2"]


def test_a_retry_click_that_loses_the_start_race_is_a_409_not_a_500(settings: Settings) -> None:
    client = FakeDurableClient()
    _compensated(client)
    client.before_start = lambda iid: client.finish(iid, "Running")
    status, body = _answer(asyncio.run(transactions.act("deal-5", "retry", client, settings)))
    assert (status, body["error"]) == (409, "conflict")


def _needs_attention(client: FakeDurableClient, round_: int = 2) -> None:
    client.entities[(names.SYNC_TRANSACTION, "deal-6")] = {"id": "deal-6", "deal_id": "6",
                                                           "status": "needs_attention", "round": round_}


def test_a_person_s_decision_is_raised_for_the_round_they_saw(settings: Settings) -> None:
    client = FakeDurableClient()
    _needs_attention(client)
    client.finish("deal-6", "Running")  # waiting for the person
    assert asyncio.run(transactions.act("deal-6", "compensate", client, settings)).status == 202
    assert client.events == [("deal-6", "compensate-r2", {"requested": "compensate", "round": 2})]


@pytest.mark.parametrize("runtime", ["Failed", "Terminated", None])
def test_a_decision_for_a_transaction_whose_orchestration_no_longer_runs_is_a_409_with_the_reason(
        settings: Settings, runtime: str | None) -> None:
    client = FakeDurableClient()
    _needs_attention(client)
    if runtime:
        client.finish("deal-6", runtime)
    status, body = _answer(asyncio.run(transactions.act("deal-6", "retry", client, settings)))
    assert (status, body["error"]) == (409, "conflict") and (runtime or "gone") in body["message"]
    assert client.events == []


def test_retry_of_a_rolled_back_deal_never_reruns_a_newer_generation_whose_history_was_purged(
        settings: Settings) -> None:
    client = FakeDurableClient()
    _compensated(client)
    client.entities[(names.SYNC_TRANSACTION, "deal-5-g2")] = {"id": "deal-5-g2", "status": "compensated"}
    status, _ = _answer(asyncio.run(transactions.act("deal-5", "retry", client, settings)))
    assert status == 409 and client.started_ids() == []


class DownClient(FakeDurableClient):
    async def entity_state(self, entity: str, key: str) -> Any:
        raise TaskHubDown("no route to the task hub")


@pytest.mark.parametrize("call", ["get", "retry", "compensate"])
def test_transactions_api_answers_503_when_the_orchestration_store_is_down(settings: Settings, call: str) -> None:
    client = DownClient()
    response = (transactions.get_transaction("deal-5", client, settings) if call == "get"
                else transactions.act("deal-5", call, client, settings))
    status, body = _answer(asyncio.run(response))
    assert (status, body["error"]) == (503, "unavailable")


def test_the_list_answers_503_when_the_ledger_is_down() -> None:
    class DownLedger:
        def query(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("storage unreachable")

    response = transactions.list_transactions({}, DownLedger(), datetime(2026, 11, 26, tzinfo=UTC))  # type: ignore[arg-type]
    assert _answer(response)[0] == 503


@pytest.mark.parametrize("tx_id", ["deal-1\n", "deal-1\r\n", " deal-1"])
def test_a_transaction_id_with_a_line_break_or_space_is_refused(settings: Settings, tx_id: str) -> None:
    response = asyncio.run(transactions.get_transaction(tx_id, FakeDurableClient(), settings))
    assert response.status == 400


def test_a_hubspot_timestamp_of_thousands_of_digits_is_a_bad_signature_not_a_crash() -> None:
    assert verify_v3("secret", "POST", "https://x/api/webhooks/hubspot", b"[]", "sig", "9" * 5000) is False


def test_retry_of_a_stranded_transaction_starts_a_new_generation_that_looks_for_its_invoice(
        settings: Settings) -> None:
    client = FakeDurableClient()
    client.entities[(names.SYNC_TRANSACTION, "deal-7")] = {
        "id": "deal-7", "deal_id": "7", "status": "needs_attention",
        "reason": {"code": "orchestration_failed", "message": "the orchestration is Terminated"}}
    assert _answer(asyncio.run(transactions.act("deal-7", "compensate", client, settings)))[0] == 409
    status, body = _answer(asyncio.run(transactions.act("deal-7", "retry", client, settings)))
    assert (status, body["id"]) == (202, "deal-7-g2")
    assert client.starts[0][2]["after_stranded"] is True and client.starts[0][2]["generation"] == 2
