"""/api/health: alive, and honest about whether storage answers."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared import composition
from shared.api.health import health
from shared.config import reset_settings
from tests.support.azurite import Azurite
from tests.support.ports import free_port


def test_health_is_ok_when_storage_answers(app_settings: dict[str, str], azurite: Azurite,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    reset_settings()
    response = health(composition.health_checks())
    assert response.status == 200
    assert json.loads(response.body) == {"status": "ok", "checks": {"settings": "ok", "storage": "ok", "xero": "ok"}}


def _storage_at(port: int) -> str:
    return ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            f"TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers: storage that hangs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


def _timed_health() -> tuple[float, int, dict[str, str]]:
    started = time.monotonic()
    response = health(composition.health_checks())
    elapsed = time.monotonic() - started
    assert "a2V5" not in response.body
    return elapsed, response.status, json.loads(response.body)["checks"]


def test_health_is_degraded_and_names_storage_when_it_is_down(app_settings: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", _storage_at(free_port()))
    reset_settings()
    elapsed, status, checks = _timed_health()
    assert status == 503
    assert checks["storage"].startswith("unreachable")
    # A probe answers at once: no SDK retries (they took about 5 s) before saying storage is down.
    assert elapsed < 1.0, f"health took {elapsed:.2f} s with storage down"


def test_health_answers_within_a_second_when_storage_hangs(app_settings: dict[str, str], silent_port: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", _storage_at(silent_port))
    reset_settings()
    elapsed, status, checks = _timed_health()
    assert status == 503 and checks["storage"].startswith("unreachable")
    assert elapsed < 1.0, f"health took {elapsed:.2f} s with storage hanging"


def test_health_of_a_web_app_with_storage_down_names_both_within_a_second(
        app_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # The Web app's connection lives in a storage table: the Xero check reads it through the probe too.
    monkeypatch.setenv("XERO_AUTH_MODE", "web_app")
    monkeypatch.setenv("AzureWebJobsStorage", _storage_at(free_port()))
    reset_settings()
    elapsed, status, checks = _timed_health()
    assert status == 503
    assert checks["storage"].startswith("unreachable") and checks["xero"].startswith("unreachable")
    assert elapsed < 1.0, f"health took {elapsed:.2f} s with storage down"


def test_health_of_a_web_app_with_storage_hanging_names_both_within_a_second(
        app_settings: dict[str, str], silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two probes that each wait their full deadline: side by side, the answer waits for one of them only.
    monkeypatch.setenv("XERO_AUTH_MODE", "web_app")
    monkeypatch.setenv("AzureWebJobsStorage", _storage_at(silent_port))
    reset_settings()
    elapsed, status, checks = _timed_health()
    assert status == 503
    assert checks["storage"].startswith("unreachable") and checks["xero"].startswith("unreachable")
    assert elapsed < 1.0, f"health took {elapsed:.2f} s with storage hanging"


def test_the_app_s_own_storage_calls_keep_the_sdk_retries(app_settings: dict[str, str]) -> None:
    # Only the health probe gives up at once; a budget or token write still rides out a storage blip.
    def retries(service: Any) -> int:
        policies = service._client._client._pipeline._impl_policies
        return int(next(p for p in policies if type(p).__name__ == "TablesRetryPolicy").total_retries)

    assert retries(composition.table_service()) > 0
    assert retries(composition._probe_table_service()) == 0


def test_health_names_the_malformed_mapping_entry_and_the_rest_of_the_app_keeps_its_settings(
        app_settings: dict[str, str], azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("INVOICE_MAPPING", '{"tax_types_by_product": {"SKU-1": ""}}')
    reset_settings()
    response = health(composition.health_checks())
    body = json.loads(response.body)
    assert response.status == 503 and body["checks"]["storage"] == "ok"
    assert body["checks"]["settings"].startswith('invalid: INVOICE_MAPPING: tax_types_by_product["SKU-1"]:')
    # Every deal is refused at load, naming the entry, instead of an error page.
    rules = composition.mapping_rules()
    assert rules.mapping.is_empty and 'tax_types_by_product["SKU-1"]' in rules.invalid
