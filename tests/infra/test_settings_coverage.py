"""Every setting shared/config.py reads is an app setting in the Bicep (the local sample is covered by
tests/unit/test_config.py). Storage is identity-based in Azure: no AzureWebJobsStorage connection string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.config import setting_names
from tests.infra.bicep_text import object_keys

REPO = Path(__file__).resolve().parents[2]
MAIN = (REPO / "infra" / "main.bicep").read_text()
FUNCTION_APP = (REPO / "infra" / "modules" / "function-app.bicep").read_text()

# The connection-string form exists only locally (Azurite); Azure uses the identity-based form.
CONNECTION_STRING = "AzureWebJobsStorage"
IDENTITY_STORAGE = {"AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential"}
# Settings the Functions host itself reads (not shared/config.py), allowed besides config's own.
PLATFORM = {
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Flex Consumption rejects these as app settings (runtime and storage live in functionAppConfig).
FORBIDDEN_ON_FLEX = {
    "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "WEBSITE_NODE_DEFAULT_VERSION",
}
SECRETS = {
    "HUBSPOT_ACCESS_TOKEN": "hubspotAccessToken",
    "HUBSPOT_APP_SECRET": "hubspotAppSecret",
    "XERO_CLIENT_ID": "xeroClientId",
    "XERO_CLIENT_SECRET": "xeroClientSecret",
    "XERO_WEBHOOK_KEY": "xeroWebhookKey",
}


def bicep_app_settings() -> dict[str, str]:
    """Names and value expressions of every app setting: main.bicep's defaults, then the module's own."""
    settings = object_keys(MAIN, "var defaultAppSettings =")
    settings.update(object_keys(FUNCTION_APP, "properties: union(appSettings,"))
    return settings


def test_the_parser_reads_the_app_settings() -> None:
    settings = bicep_app_settings()
    assert len(settings) > 30
    assert settings["LEDGER_TABLE_NAME"] == "'SyncLedger'"
    assert settings["AzureWebJobsStorage__accountName"] == "storage.name"


def test_every_setting_the_app_reads_is_an_app_setting_in_bicep() -> None:
    settings = bicep_app_settings()
    expected = [n for n in setting_names() if n != CONNECTION_STRING]
    missing = [n for n in expected if n not in settings]
    assert not missing, f"settings shared/config.py reads but infra/ does not set: {missing}"


def test_storage_is_identity_based_with_no_connection_string() -> None:
    assert CONNECTION_STRING in setting_names(), "config no longer reads AzureWebJobsStorage: update this test"
    settings = bicep_app_settings()
    assert CONNECTION_STRING not in settings
    assert settings.keys() >= IDENTITY_STORAGE
    assert settings["AzureWebJobsStorage__credential"] == "'managedidentity'"
    assert "AzureWebJobsStorage__tableServiceUri" in settings  # the ledger's table endpoint
    assert re.search(r"allowSharedKeyAccess:\s*false", (REPO / "infra/modules/storage.bicep").read_text())


def test_bicep_sets_nothing_the_app_and_host_do_not_read() -> None:
    unknown = set(bicep_app_settings()) - set(setting_names()) - PLATFORM
    assert not unknown, f"app settings nobody reads: {sorted(unknown)}"
    assert not FORBIDDEN_ON_FLEX & set(bicep_app_settings())


@pytest.mark.parametrize(("setting", "secret_key"), sorted(SECRETS.items()))
def test_secrets_are_key_vault_references(setting: str, secret_key: str) -> None:
    value = bicep_app_settings()[setting]
    assert value.startswith("'@Microsoft.KeyVault(SecretUri=${secretUriPrefix}${secretNames." + secret_key + "}")
    assert secret_key in object_keys(MAIN, "var secretNames =")


def test_no_other_setting_holds_a_literal_secret() -> None:
    for name, value in bicep_app_settings().items():
        if name not in SECRETS and name.endswith(("_SECRET", "_TOKEN", "_KEY", "_PASSWORD", "_CLIENT_ID")):
            pytest.fail(f"{name} = {value} looks like a secret outside Key Vault")


def test_task_hub_setting_matches_host_json() -> None:
    host = (REPO / "host.json").read_text()
    assert "%TASK_HUB_NAME%" in host
    assert "TASK_HUB_NAME" in bicep_app_settings()
