"""docs/deploy.md gives a person every command and setting they need, with names that exist:
settings from shared/config.py, Key Vault secret names from the Bicep, routes the app serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared import names
from shared.config import setting_names
from tests.infra.bicep_text import object_keys

REPO = Path(__file__).resolve().parents[2]
DEPLOY = (REPO / "docs/deploy.md").read_text()
OPERATIONS = (REPO / "docs/operations.md").read_text()
ARCHITECTURE = (REPO / "docs/architecture.md").read_text()
MAIN = (REPO / "infra/main.bicep").read_text()
PARAMS = (REPO / "infra/main.bicepparam").read_text()

ROUTES = {
    "/api/health", "/api/status", "/api/sync", "/api/transactions", "/api/transactions/{id}",
    "/api/transactions/{id}/retry", "/api/transactions/{id}/compensate",
    "/api/webhooks/hubspot", "/api/webhooks/xero", "/api/xero/connect", "/api/xero/callback",
    "/api/xero/disconnect", "/api/xero/status", "/api/batches", "/api/batches/{id}",
}
STATES = ("pending", "running", "completed", "compensating", "compensated", "needs_attention", "already_synced")


def _bicep_outputs() -> set[str]:
    return set(re.findall(r"^output (\w+) ", MAIN, re.MULTILINE))


def _azd_variables() -> set[str]:
    """Variables main.bicepparam reads from the azd environment."""
    return set(re.findall(r"readEnvironmentVariable\('(\w+)'", PARAMS))


def _secret_names() -> set[str]:
    return {v.strip("'") for v in object_keys(MAIN, "var secretNames =").values()}


def test_every_upper_case_name_in_deploy_md_is_a_setting_an_output_or_an_azd_variable() -> None:
    known = set(setting_names()) | _bicep_outputs() | _azd_variables()
    used = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", DEPLOY))
    assert not used - known, f"docs/deploy.md names settings or variables that do not exist: {sorted(used - known)}"
    # and the settings a person sets by hand are there
    for setting in ("XERO_TENANT_ID", "HUBSPOT_PORTAL_ID", "HUBSPOT_TRIGGER_STAGE", "HUBSPOT_ACCESS_TOKEN"):
        assert setting in DEPLOY


def test_outputs_the_docs_rely_on_exist() -> None:
    for output in ("FUNCTION_APP_URL", "FUNCTION_APP_NAME", "KEY_VAULT_NAME", "STORAGE_ACCOUNT_NAME",
                   "HUBSPOT_WEBHOOK_URL", "XERO_WEBHOOK_URL", "AZURE_RESOURCE_GROUP"):
        assert output in _bicep_outputs()
    assert "/api/webhooks/hubspot'" in MAIN and "/api/webhooks/xero'" in MAIN


def test_key_vault_commands_use_the_secret_names_of_the_bicep() -> None:
    commands = re.findall(r"az keyvault secret set --vault-name \"\$KEY_VAULT_NAME\" --name ([a-z-]+)", DEPLOY)
    assert set(commands) == _secret_names()
    assert len(_secret_names()) == 5


@pytest.mark.parametrize("doc", ["deploy.md", "operations.md", "architecture.md"])
def test_routes_in_docs_are_routes_of_the_app(doc: str) -> None:
    text = (REPO / "docs" / doc).read_text().replace("<br/>", " ")
    text = re.sub(r"<[^>]+>|\{[a-z_ ]+\}", "{id}", text)  # placeholders: <transaction id>, {id}
    found = set(re.findall(r"/api/[A-Za-z0-9_/{}-]*[A-Za-z0-9_}]", text))
    assert found, doc
    assert found <= ROUTES, f"{doc} names routes the app does not serve: {sorted(found - ROUTES)}"


def test_deploy_md_has_every_step() -> None:
    for scope in ("crm.objects.deals.read", "crm.objects.deals.write", "crm.objects.companies.read",
                  "crm.objects.contacts.read", "crm.objects.line_items.read", "crm.schemas.deals.write",
                  "accounting.invoices", "accounting.contacts", "offline_access"):
        assert f"`{scope}`" in DEPLOY, scope
    assert "accounting.transactions" not in DEPLOY
    for mode in ("### 2a. Custom connection", "### 2b. Web app", "XERO_AUTH_MODE custom_connection",
                 "XERO_AUTH_MODE web_app", "/api/xero/connect", "/api/xero/callback"):
        assert mode in DEPLOY, mode
    for text in ("python -m shared.connectors.hubspot setup", "deal.creation", "deal.propertyChange", "dealstage",
                 "azd up", "curl -s \"$FUNCTION_APP_URL/api/health\"", "Closed Won", "/api/status",
                 "Intent to receive", "az functionapp restart"):
        assert text in DEPLOY, text


FORBIDDEN = (
    # HubSpot ended the creation of legacy private apps in 2026: no guide may send a new customer there.
    (re.compile(r"create (?:a |an |the |your )?(?:new )?(?:legacy )?private app", re.IGNORECASE),
     "a step that creates a private app"),
    (re.compile(r"Integrations\s*→\s*Private Apps", re.IGNORECASE), "the Private Apps settings page"),
    # The numeric API versions go unsupported in 2027; the connector calls date-based paths only.
    (re.compile(r"/(?:crm|properties|webhooks|associations|objects|contacts|deals)(?:/[a-z-]+)*/v\d+\b"),
     "a numeric-version HubSpot path"),
)
KNOWN_HS_COMMANDS = {"hs init", "hs account auth", "hs --version", "hs project validate", "hs project upload",
                     "hs project deploy", "hs project install-app"}


def steps_a_customer_cannot_do(text: str) -> list[str]:
    """Each passage of ``text`` that tells a person to do what HubSpot no longer allows."""
    return [f"{why}: {m.group(0)!r}" for pattern, why in FORBIDDEN for m in pattern.finditer(text)]


@pytest.mark.parametrize("doc", ["deploy.md", "operations.md"])
def test_no_guide_asks_for_a_private_app_or_a_numeric_version_path(doc: str) -> None:
    assert steps_a_customer_cannot_do((REPO / "docs" / doc).read_text()) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("In HubSpot: **Settings → Integrations → Private Apps → Create a private app**.",
     ["a step that creates a private app: 'Create a private app'",
      "the Private Apps settings page: 'Integrations → Private Apps'"]),
    ("the connector reads `/crm/v3/objects/deals/{id}`", ["a numeric-version HubSpot path: '/crm/v3'"]),
    ("POST https://api.hubapi.com/crm/associations/v4/deals/line_items/batch/read",
     ["a numeric-version HubSpot path: '/crm/associations/v4'"]),
    ("Keep the legacy private app until September 2027; `/crm/objects/2026-09/deals`", []),
])
def test_the_check_names_a_step_hubspot_no_longer_allows(text: str, expected: list[str]) -> None:
    assert steps_a_customer_cannot_do(text) == expected


def test_every_hubspot_app_file_and_command_deploy_md_names_exists() -> None:
    paths = set(re.findall(r"hubspot-app/[A-Za-z0-9_./-]*[A-Za-z0-9_]", DEPLOY))
    assert {"hubspot-app/src/app/app-hsmeta.json", "hubspot-app/src/app/webhooks/webhooks-hsmeta.json"} <= paths
    assert [p for p in paths if not (REPO / p).exists()] == []
    modules = set(re.findall(r"python -m ([A-Za-z_][\w.]*)", DEPLOY))
    assert {"scripts.hubspot_webhook_url", "shared.connectors.hubspot"} <= modules
    assert [m for m in modules if not (REPO / (m.replace(".", "/") + ".py")).is_file()] == []
    commands = set(re.findall(r"\bhs (?:(?:project|account) [a-z-]+|init|--version)", DEPLOY))
    assert {"hs project validate", "hs project upload", "hs project deploy", "hs account auth"} <= commands
    assert commands <= KNOWN_HS_COMMANDS, sorted(commands - KNOWN_HS_COMMANDS)
    assert "npm install -g @hubspot/cli" in DEPLOY


def test_deploy_md_lists_exactly_the_scopes_of_the_hubspot_app() -> None:
    app = json.loads((REPO / "hubspot-app/src/app/app-hsmeta.json").read_text())
    required = set(app["config"]["auth"]["requiredScopes"])
    section = DEPLOY[DEPLOY.index("## 4. The HubSpot app"):DEPLOY.index("## 5. ")]
    table = set(re.findall(r"^\| `([a-z_.]+)` \|", section, re.MULTILINE))
    assert table == required


def test_deploy_md_documents_the_webhook_free_and_the_legacy_ways() -> None:
    for text in ("## Without webhooks: a Service Key", "Development → Keys → Service keys", "SYNC_SCHEDULE",
                 "## Already running on a legacy private app", "September 2027", "hubspot-access-token",
                 "hubspot-app-secret"):
        assert text in DEPLOY, text


def test_operations_md_covers_states_actions_and_an_unmeasured_cost_table() -> None:
    for state in STATES:
        assert f"`{state}`" in OPERATIONS, state
    for text in ("/api/transactions/<transaction id>/retry?code=",
                 "/api/transactions/<transaction id>/compensate?code=", '{"since": "2026-01-01"}',
                 "credit note", "az keyvault secret set", "restart"):
        assert text in OPERATIONS, text
    rows = [line for line in OPERATIONS.splitlines() if "pending measurement" in line]
    assert len(rows) >= 7 and "measured by bench/saga_cost.py" in OPERATIONS
    for row in rows:  # measured columns hold no invented numbers
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(c == "pending measurement" for c in cells[2:]), row


def test_architecture_md_names_the_real_functions() -> None:
    assert ARCHITECTURE.count("```mermaid") == 2 and "stateDiagram-v2" in ARCHITECTURE
    for name in (names.SCHEDULED_SYNC, names.BATCH_SYNC, names.DEAL_SYNC, names.INVOICE_PAID,
                 names.SYNC_TRANSACTION, names.SYNC_CURSOR):
        assert name in ARCHITECTURE, name
    for transition in ("pending --> running", "running --> completed", "running --> compensating",
                       "compensating --> compensated", "compensating --> needs_attention",
                       "needs_attention --> running", "needs_attention --> compensating", "already_synced"):
        assert transition in ARCHITECTURE, transition


def test_shipped_files_name_no_local_paths() -> None:
    files = [*(REPO / "infra").rglob("*.bicep*"), REPO / "azure.yaml", *(REPO / ".github").rglob("*.yml"),
             *(REPO / "docs").glob("*.md"), *(REPO / "tests/infra").glob("*.py")]
    for path in files:
        assert "/" + "work/" not in path.read_text(), path
