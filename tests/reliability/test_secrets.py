"""Issue #8, secrets: no secret setting's value ever shows in a log line, an HTTP answer or the ledger.

The app runs with recognisable values for every secret it is given (the five Key Vault secrets and the
storage account key: Azurite started here with its own account and key) and devhost logs at DEBUG, the
most talkative level. The scenario goes through the paths where a careless error message or log line would
leak one: a deal won in HubSpot and delivered by HubSpot's own signed webhook, a deal Xero refuses (rolled
back), a deal read with a token HubSpot no longer accepts (401), a deal while Xero refuses the client
credentials, a paid-invoice webhook from Xero, forged webhooks of both kinds, a batch, a manual retry, and
every read endpoint. Searched for: each value, its URL-encoded form, the Basic credentials Xero's token
request carries, and the marker every value here starts with (a truncated secret is still a leak).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient

from devhost.testing import DevHostProcess
from simulators.testing import SimulatorsProcess
from tests.e2e.conftest import Stack, app_host
from tests.e2e.saga_helpers import XERO_API, wait_for
from tests.reliability.figures import report
from tests.reliability.helpers import HUBSPOT_WEBHOOK, SAMPLE, XERO_WEBHOOK, seed_won_deals
from tests.support.azurite import Azurite, azurite_binary
from tests.support.ports import free_port, wait_for_port
from tests.support.signed_webhooks import hubspot_headers, xero_headers

MARK = "SECRET-"  # every secret value below starts with it
MARK_NAME = "a secret's start"
SECRETS = {
    "HUBSPOT_ACCESS_TOKEN": "SECRET-hubspot-access-token-4e1f0c7a",
    "HUBSPOT_APP_SECRET": "SECRET-hubspot-app-secret-9b2d61",
    "XERO_CLIENT_ID": "SECRET-xero-client-id-51c8aa",
    "XERO_CLIENT_SECRET": "SECRET-xero-client-secret-e07a3f",
    "XERO_WEBHOOK_KEY": "SECRET-xero-webhook-key-3f6b0d",
}
STORAGE_ACCOUNT = "reliabilitysecrets"
STORAGE_KEY = base64.b64encode(b"SECRET-storage-account-key-" + bytes(range(37))).decode()  # 64 bytes
TENANT = SAMPLE["XERO_TENANT_ID"]


def needles() -> dict[str, str]:
    """What must appear nowhere, by a name that says which secret (and in which form) leaked."""
    found = dict(SECRETS)
    found["AzureWebJobsStorage AccountKey"] = STORAGE_KEY
    found["AzureWebJobsStorage AccountKey (URL-encoded)"] = quote(STORAGE_KEY, safe="")
    basic = f"{SECRETS['XERO_CLIENT_ID']}:{SECRETS['XERO_CLIENT_SECRET']}"
    found["Xero Basic credentials"] = base64.b64encode(basic.encode()).decode()
    found[MARK_NAME] = MARK
    return found


@pytest.fixture(scope="module")
def secret_azurite() -> Iterator[tuple[str, str]]:
    """An Azurite whose only extra account has a recognisable key: (connection string, table endpoint)."""
    table, blob, queue = free_port(), free_port(), free_port()
    workdir = tempfile.mkdtemp(prefix="azurite-secrets-")
    cmd = [azurite_binary(), "--silent", "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck",
           "--loose", "--blobHost", "127.0.0.1", "--blobPort", str(blob), "--queueHost", "127.0.0.1",
           "--queuePort", str(queue), "--tableHost", "127.0.0.1", "--tablePort", str(table)]
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{STORAGE_ACCOUNT}:{STORAGE_KEY}"}
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir, env=env)
    instance = Azurite(blob, queue, table, process, workdir)  # for stop()
    try:
        for port in (blob, queue, table):
            wait_for_port(port)
        endpoint = f"http://127.0.0.1:{table}/{STORAGE_ACCOUNT}"
        yield (f"DefaultEndpointsProtocol=http;AccountName={STORAGE_ACCOUNT};AccountKey={STORAGE_KEY};"
               f"TableEndpoint={endpoint};"), endpoint
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def stack_host(azurite: Azurite, simulators: SimulatorsProcess,
               secret_azurite: tuple[str, str]) -> Iterator[tuple[DevHostProcess, dict[str, str]]]:
    settings = {**SECRETS, "AzureWebJobsStorage": secret_azurite[0], "XERO_TENANT_ID": TENANT,
                "HUBSPOT_REQUESTS_PER_10S": "100000", "XERO_CALLS_PER_MINUTE": "100000", "XERO_MAX_CONCURRENT": "20",
                "STEP_MAX_ATTEMPTS": "2", "STEP_RETRY_FIRST_SECONDS": "1", "COMPENSATION_MAX_ATTEMPTS": "2"}
    with app_host(azurite, simulators, settings, extra_args=["--log-level", "DEBUG"]) as pair:
        yield pair


class Recorder:
    """Every answer the app gave over HTTP: status, headers and body."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str]] = []

    def record(self, response: httpx.Response) -> None:
        response.read()
        self.answers.append((f"{response.request.method} {response.request.url.path} -> {response.status_code}",
                             json.dumps(dict(response.headers)) + "\n" + response.text))


def move_stage(stack: Stack, deal_id: str, stage: str, token: str) -> None:
    """A person moves the deal in HubSpot; HubSpot then sends its signed webhook to the app by itself."""
    with httpx.Client(base_url=stack.sims.hubspot_url, headers={"Authorization": f"Bearer {token}"}) as crm:
        crm.patch(f"/crm/objects/2026-09/deals/{deal_id}", json={"properties": {"dealstage": stage}}).raise_for_status()


def ended(stack: Stack, tx: str, timeout: float = 60) -> dict[str, Any]:
    """The run once it ended, or once it waits for a person (``needs_attention`` keeps a deal's run open for
    the person's Retry or Compensate): then with that status as its output."""

    def settled() -> dict[str, Any] | None:
        status = stack.client.status(tx)
        if status is None:
            return None
        if status["runtimeStatus"] in ("Completed", "Failed", "Terminated", "Canceled"):
            return status
        custom = status.get("customStatus") or {}
        if isinstance(custom, dict) and custom.get("status") == "needs_attention":
            return {**status, "output": {"status": "needs_attention"}}
        return None

    return wait_for(f"{tx} to end or wait for a person", settled, timeout=timeout)


def leaks(text: str) -> list[str]:
    return [name for name, needle in needles().items() if needle in text]


@pytest.mark.e2e
def test_no_secret_appears_in_logs_http_answers_or_the_ledger(stack: Stack, secret_azurite: tuple[str, str]) -> None:
    started = time.monotonic()
    sims = stack.sims
    sims.hubspot.config(requests_per_10s=0)
    deal_a, deal_b, deal_c, deal_d = seed_won_deals(stack, 4, "Secretive Co")
    for deal in (deal_a, deal_b, deal_c, deal_d):
        move_stage(stack, deal, "contractsent", "seed")  # not won yet (and before any webhook is configured)
    token = SECRETS["HUBSPOT_ACCESS_TOKEN"]
    sims.hubspot.config(access_token=token)
    sims.xero.config(client_id=SECRETS["XERO_CLIENT_ID"], client_secret=SECRETS["XERO_CLIENT_SECRET"],
                     tenant_ids=[TENANT], calls_per_minute=100_000, max_concurrent=20)
    sims.hubspot.set_webhook(stack.client.base_url + HUBSPOT_WEBHOOK, SECRETS["HUBSPOT_APP_SECRET"])
    sims.xero.set_webhook(stack.client.base_url + XERO_WEBHOOK, SECRETS["XERO_WEBHOOK_KEY"])
    recorder = Recorder()
    http = httpx.Client(base_url=stack.client.base_url, timeout=30, event_hooks={"response": [recorder.record]})
    outcomes: dict[str, str] = {}

    # A: won, delivered by HubSpot's webhook, invoiced; then paid in Xero, delivered by Xero's webhook.
    move_stage(stack, deal_a, "closedwon", token)
    outcomes["A"] = ended(stack, f"deal-{deal_a}")["output"]["status"]
    [invoice] = sims.xero.state()["invoices"]
    sims.xero.pay_invoice(invoice["InvoiceID"], wait_for_webhook=True)
    outcomes["A paid"] = str(ended(stack, f"paid-{invoice['InvoiceID']}")["output"].get("outcome"))

    # B: Xero refuses the invoice (a validation error): rolled back.
    sims.xero.add_fault(f"{XERO_API}/Invoices", 400, method="PUT", times=1)
    move_stage(stack, deal_b, "closedwon", token)
    outcomes["B"] = ended(stack, f"deal-{deal_b}")["output"]["status"]

    # C: the HubSpot token was revoked: every CRM call answers 401.
    sims.hubspot.config(access_token="revoked-elsewhere")
    move_stage(stack, deal_c, "closedwon", "revoked-elsewhere")
    outcomes["C"] = ended(stack, f"deal-{deal_c}")["output"]["status"]
    sims.hubspot.config(access_token=token)

    # D: Xero no longer accepts the client credentials (the token request answers invalid_client).
    sims.xero.config(client_secret="rotated-elsewhere")
    sims.xero.expire_tokens()
    move_stage(stack, deal_d, "closedwon", token)
    outcomes["D"] = ended(stack, f"deal-{deal_d}")["output"]["status"]
    sims.xero.config(client_secret=SECRETS["XERO_CLIENT_SECRET"])

    # Forged deliveries, Xero's intent-to-receive check, a batch, a person's retry, and every read.
    body = json.dumps([{"eventId": 1, "subscriptionType": "deal.creation", "objectId": int(deal_b)}]).encode()
    http.post(HUBSPOT_WEBHOOK, content=body,
              headers=hubspot_headers("not-the-secret", stack.client.base_url + HUBSPOT_WEBHOOK, body))
    http.post(XERO_WEBHOOK, content=b'{"events": []}', headers=xero_headers("guess", b'{"events": []}'))
    intent = sims.xero._call("POST", "/_sim/webhooks/intent", {})
    assert http.post("/api/sync", json={}).status_code == 202
    ended(stack, "batch-sync")
    http.post(f"/api/transactions/deal-{deal_c}/retry")
    wait_for("devhost to be idle", lambda: stack.client.health()["idle"], timeout=60)
    assert http.get("/api/health").status_code == 200  # the storage account (and its key) in use
    http.get("/api/status")
    listing = http.get("/api/transactions", params={"limit": "500"}).json()
    for item in listing["items"]:
        http.get(f"/api/transactions/{item['id']}")
    http.post(f"/api/transactions/deal-{deal_a}/compensate")
    http.get("/api/transactions/deal-0", params={"x": "y"})
    http.get("/api/batches")
    http.close()

    # What the host kept about each instance (inputs, outputs, custom status, history) over the durable API.
    durable: list[str] = []
    _, _, instances = stack.client.request("GET", "/runtime/webhooks/durabletask/instances?top=1000")
    for instance in instances:
        durable.append(json.dumps(stack.client.status(instance["instanceId"], show_history=True,
                                                      show_history_output=True)))
    deliveries = json.dumps(sims.hubspot.state()["webhook_deliveries"] + sims.xero.state()["webhook_deliveries"])
    service = TableServiceClient.from_connection_string(secret_azurite[0])
    ledger_rows = [json.dumps(dict(e), default=str) for e in
                   service.get_table_client(stack.settings["LEDGER_TABLE_NAME"]).list_entities()]
    with contextlib.suppress(ResourceNotFoundError):  # the batch table exists once a batch ran
        ledger_rows += [json.dumps(dict(e), default=str) for e in
                        service.get_table_client(stack.settings["BATCH_TABLE_NAME"]).list_entities()]
    logs = stack.host.stderr_text().splitlines() + list(stack.host._stdout_lines)

    found = {
        "log lines": [(line[:160], leaks(line)) for line in logs if leaks(line)],
        "HTTP answers": [(what, leaks(text)) for what, text in recorder.answers if leaks(text)],
        "answers to the vendors' webhooks": leaks(deliveries),
        "durable instances": [leaks(text) for text in durable if leaks(text)],
        "ledger rows": [leaks(row) for row in ledger_rows if leaks(row)],
    }
    report(f"reliability secrets: secrets_checked={len(SECRETS) + 1} forms={len(needles())} "
           f"outcomes={outcomes} intent_to_receive={intent['passed']} log_lines={len(logs)} "
           f"http_answers={len(recorder.answers)} durable_instances={len(durable)} ledger_rows={len(ledger_rows)} "
           f"leaks={sum(len(v) for v in found.values())} seconds={time.monotonic() - started:.1f}")

    # The search finds what is there (the simulators' own config holds two of the secrets) ...
    control = leaks(json.dumps(sims.hubspot.config()))
    assert sorted(control) == sorted(["HUBSPOT_ACCESS_TOKEN", "HUBSPOT_APP_SECRET", MARK_NAME]), control
    # ... and the scenario went where it should, so the search covered those paths.
    assert outcomes["A"] == "completed" and outcomes["A paid"] == "marked_paid", outcomes
    assert {outcomes[k] for k in "BCD"} <= {"compensated", "needs_attention"}, outcomes
    assert intent["passed"], intent
    assert len(ledger_rows) >= 4 and len(logs) > 50 and len(recorder.answers) >= 10
    assert any("401" in line or "Unauthorized" in line or "invalid_client" in line for line in logs)
    # The alert lines (which carry the APIs' reasons) were among the lines searched.
    assert sum("sync attention: " in line for line in logs) >= 3
    assert found == {k: [] for k in found}, found
