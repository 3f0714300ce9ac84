"""Settings: read lazily, validated with messages that name the setting and never echo its value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import ConfigError, get_settings, reset_settings, setting_names

REPO = Path(__file__).resolve().parents[2]


def test_sample_settings_build_valid_settings(app_settings: dict[str, str]) -> None:
    settings = get_settings()
    assert settings.hubspot_trigger_stage == "closedwon"
    assert settings.xero_calls_per_minute == 60
    assert settings.hubspot_access_token.get_secret_value() == app_settings["HUBSPOT_ACCESS_TOKEN"]


def test_missing_setting_fails_with_a_message_naming_it(app_settings: dict[str, str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XERO_TENANT_ID")
    reset_settings()
    with pytest.raises(ConfigError, match="missing setting XERO_TENANT_ID"):
        get_settings()


def test_malformed_setting_is_named_and_its_value_not_echoed(app_settings: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XERO_CALLS_PER_MINUTE", "sixty-secret-words")
    reset_settings()
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert "XERO_CALLS_PER_MINUTE" in str(info.value)
    assert "sixty-secret-words" not in str(info.value)


def test_storage_must_be_configured_one_way_or_another(app_settings: dict[str, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    reset_settings()
    with pytest.raises(ConfigError, match="AzureWebJobsStorage"):
        get_settings()
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "prodsyncstore")
    reset_settings()
    assert get_settings().storage_account_name == "prodsyncstore"


def test_secrets_do_not_show_in_the_settings_repr(app_settings: dict[str, str]) -> None:
    text = repr(get_settings())
    for key in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_APP_SECRET", "XERO_CLIENT_SECRET", "XERO_WEBHOOK_KEY"):
        assert app_settings[key] not in text


def test_every_setting_the_app_reads_is_in_the_local_sample() -> None:
    sample = json.loads((REPO / "local.settings.sample.json").read_text())["Values"]
    optional_in_azure_only = {"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__tableServiceUri"}
    missing = [n for n in setting_names() if n not in sample and n not in optional_in_azure_only]
    assert missing == []
