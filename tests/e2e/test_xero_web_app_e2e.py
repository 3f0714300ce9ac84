"""XERO_AUTH_MODE=web_app end to end: connect through Xero's page, rotate tokens under load, revoke and reconnect.

The app runs on devhost; a second app process (the app's own composition, in a subprocess) shares the
token store and calls Xero at the same time, so refreshes race across processes as on a scaled-out
Function App. The simulator's identity service rotates refresh tokens and refuses reuse outside the grace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from azure.data.tables import TableServiceClient
from pydantic import SecretStr

from shared import names
from shared.connectors.http_client import ServiceHttp
from shared.connectors.xero_auth import InvalidGrant, XeroIdentity
from shared.connectors.xero_token_store import TableTokenStore
from simulators.testing import SimulatorsProcess
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import invoices, start_deal, wait_for
from tests.reliability.helpers import outcome_figures, seed_and_sync, wait_instances_completed
from tests.support.crm_data import create_won_deal
from tests.support.settings import sample_settings

REPO = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "e2e-web-app-client", "e2e-web-app-secret"
TENANT = "3c2b1a0f-9e8d-4c7b-a6f5-e4d3c2b1a090"
DEALS = 50


def web_app_settings(sims: SimulatorsProcess) -> dict[str, str]:
    return {"XERO_AUTH_MODE": "web_app", "XERO_TENANT_ID": "", "XERO_CLIENT_ID": CLIENT_ID,
            "XERO_CLIENT_SECRET": CLIENT_SECRET,
            "XERO_AUTHORIZE_URL": f"{sims.xero_url}/identity/connect/authorize",
            "XERO_CONNECTIONS_URL": f"{sims.xero_url}/connections",
            "XERO_REVOCATION_URL": f"{sims.xero_url}/connect/revocation",
            "XERO_TOKEN_TABLE_NAME": "XeroE2e" + uuid.uuid4().hex[:10], "SYNC_BATCH_CONCURRENCY": "10"}


stack_host = module_host(lambda sims: {**FAST_APP_LIMITS, **web_app_settings(sims)})


@pytest.fixture
def web_stack(fast_stack: Stack) -> Stack:
    fast_stack.sims.xero.config(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant_ids=[TENANT])
    return fast_stack


def store(stack: Stack) -> TableTokenStore:
    service = TableServiceClient.from_connection_string(stack.settings["AzureWebJobsStorage"])
    return TableTokenStore(service, stack.settings["XERO_TOKEN_TABLE_NAME"])


def connect_in_browser(stack: Stack) -> httpx.Response:
    """What a person does: open /api/xero/connect, approve on Xero's page, land on the callback."""
    with httpx.Client(base_url=stack.client.base_url, timeout=30) as browser:
        start = browser.get("/api/xero/connect")
        assert start.status_code == 302, start.text
        approve = httpx.get(start.headers["Location"], follow_redirects=False, timeout=30)
        assert approve.status_code == 302, approve.text
        back = urlsplit(approve.headers["Location"])
        assert back.path == "/api/xero/callback"
        return browser.get(f"{back.path}?{back.query}")  # the cookie jar carries the state cookie


def xero_status(stack: Stack) -> dict[str, Any]:
    return dict(httpx.get(f"{stack.client.base_url}/api/xero/status", timeout=30).json())


def second_process(stack: Stack, seconds: float) -> subprocess.Popen[str]:
    """Another instance of the app: its own composition, the same settings and token store, calling Xero."""
    script = (
        "import json, sys, time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from shared import composition\n"
        "xero = composition.accounting()\n"
        f"end = time.monotonic() + {seconds}\n"
        "errors = []\n"
        "def work(i):\n"
        "    n = 0\n"
        "    while time.monotonic() < end:\n"
        "        try:\n"
        "            xero.find_customer(f'second-process-{i}')\n"
        "            n += 1\n"
        "        except Exception as exc:\n"
        "            errors.append(f'{type(exc).__name__}: {exc}')\n"
        "        time.sleep(0.02)\n"
        "    return n\n"
        "with ThreadPoolExecutor(4) as pool:\n"
        "    calls = sum(pool.map(work, range(4)))\n"
        "tokens = composition.web_app_tokens()\n"
        "print(json.dumps({'calls': calls, 'errors': errors[:5], 'refreshes': tokens.refresh_count}))\n"
    )
    env = {**os.environ, **sample_settings(), **stack.settings, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.e2e
def test_connect_then_a_50_deal_batch_survives_forced_token_expiry_and_rotation_racing_in_two_processes(
    web_stack: Stack,
) -> None:
    stack = web_stack
    page = connect_in_browser(stack)
    assert page.status_code == 200 and "Xero connected" in page.text, page.text
    first_refresh_token = store(stack).read().refresh_token
    assert first_refresh_token is not None
    assert xero_status(stack)["status"] == "connected"

    other = second_process(stack, seconds=12)
    deal_ids, batch_id = seed_and_sync(stack, DEALS, "Web App Co")
    for share in (4, 2):  # the tokens die twice in the middle of the batch: two rotations under load
        wait_for("part of the batch invoiced", lambda s=share: len(invoices(stack)) >= DEALS // s, timeout=90)
        stack.sims.xero.expire_tokens()
    batch = stack.client.wait(batch_id, timeout=120)
    final = wait_instances_completed(stack, [f"deal-{d}" for d in deal_ids], timeout=120)
    out, err = other.communicate(timeout=60)
    second = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"stderr": err[-2000:]}

    assert batch["runtimeStatus"] == "Completed", batch
    assert Counter(str((s.get("output") or {}).get("status")) for s in final.values()) == Counter(
        {"completed": DEALS})
    assert outcome_figures(stack, set(deal_ids)) == {"invoices": DEALS, "duplicates": 0, "lost": 0}
    assert second.get("errors") == [] and second["calls"] > 0, second
    state = stack.sims.xero.state()
    assert state["token_refusals"] == {}, state["token_refusals"]  # nobody ever used a dead refresh token
    conn = store(stack).read()
    refreshes = [r for r in stack.sims.xero.requests() if r["path"] == "/connect/token"
                 and "grant_type=refresh_token" in r["body_text"]]
    print(f"web app batch: deals={DEALS} refreshes={len(refreshes)} stored={conn.refreshes} "
          f"second_process_calls={second['calls']} second_process_refreshes={second['refreshes']}")
    assert conn.connected and conn.refreshes >= 2
    assert len(refreshes) == conn.refreshes  # serialized: each token expiry cost one refresh, for everyone
    identity = XeroIdentity(ServiceHttp("xero", stack.sims.xero_url, timeout=10.0),
                            f"{stack.sims.xero_url}/connect/token", SecretStr(CLIENT_ID), SecretStr(CLIENT_SECRET))
    with pytest.raises(InvalidGrant):
        identity.refresh(first_refresh_token)  # the old refresh token is refused afterwards


@pytest.mark.e2e
def test_a_revoked_connection_shows_reconnect_keeps_transactions_waiting_and_they_complete_after_reconnecting(
    web_stack: Stack,
) -> None:
    stack = web_stack
    assert connect_in_browser(stack).status_code == 200
    stack.sims.xero._call("POST", "/_sim/xero/revoke-connections")  # the user removed the app in Xero
    stack.client.clock(auto_advance=False)  # the wait for a person must not be skipped by the virtual clock
    try:
        deal = create_won_deal(stack.sims.hubspot_url)
        tx = start_deal(stack, deal.deal_id)

        def waiting() -> dict[str, Any] | None:
            _, state = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
            steps = [s for s in (state or {}).get("steps", []) if s.get("status") == "retrying"]
            return state if steps and steps[0].get("last_error", {}).get("code") == "xero_disconnected" else None

        state = wait_for("the transaction to wait for a reconnect", waiting, timeout=60)
        assert state["status"] == "running"  # waiting, not failing
        shown = xero_status(stack)
        assert shown["status"] == "disconnected" and "Xero disconnected: reconnect" in shown["message"]
        health = httpx.get(f"{stack.client.base_url}/api/health", timeout=30)
        assert health.status_code == 503
        assert health.json()["checks"]["xero"] == "disconnected: reconnect at /api/xero/connect"
        assert invoices(stack) == []

        assert connect_in_browser(stack).status_code == 200  # a person reconnects
        assert xero_status(stack)["status"] == "connected"
        stack.client.clock(advance_ms=300_000)  # the transaction's next look comes
        stack.client.clock(auto_advance=True)
        status = stack.client.wait(tx, timeout=60)
    finally:
        stack.client.clock(auto_advance=True)
    assert status["output"]["status"] == "completed", status["output"]
    assert len(invoices(stack)) == 1


@pytest.mark.e2e
def test_a_forged_callback_is_refused_and_changes_nothing(web_stack: Stack) -> None:
    stack = web_stack
    answer = httpx.get(f"{stack.client.base_url}/api/xero/callback?code=stolen&state=guess", timeout=30)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_state"
    assert store(stack).read().status in ("never", "connected", "disconnected")

