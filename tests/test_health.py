"""/api/health: alive, and honest about whether storage answers."""

from __future__ import annotations

import json

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


def test_health_is_degraded_and_names_storage_when_it_is_down(app_settings: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    dead = free_port()
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"TableEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;",
    )
    reset_settings()
    response = health(composition.health_checks())
    body = json.loads(response.body)
    assert response.status == 503
    assert body["checks"]["storage"].startswith("unreachable")
    assert "a2V5" not in response.body


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
