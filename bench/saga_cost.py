"""Benchmark: what one happy-path deal-to-invoice transaction costs, for a new and an existing Xero contact.

Runs the unmodified app on devhost with its own Azurite and the HubSpot and Xero simulators (all on
free loopback ports), syncs one won deal per case and prints JSON:

- ``xero_calls`` / ``hubspot_calls``: API requests in the simulators' request logs during the
  transaction (the Xero token request is counted apart: it is not a call against the API limits,
  and a cached token makes it rare);
- ``activity_executions``, ``orchestrator_episodes``, ``history_events``, ``entity_operations``:
  deltas of devhost's ``/_devhost/stats`` (entity signals are one-way, so the bench waits until
  devhost is idle before reading them);
- ``table_writes``: ledger writes to Azure Table storage. Each ``record_transaction`` execution is
  one ``TableLedger.upsert``, which writes two rows (the time row and the deal row), each after a
  one-property read (the newer state wins when writes arrive out of order), so
  ``table_writes = table_reads = 2 * record_transaction executions``. Durable Functions' own task-hub storage
  (history, queues, entity state) is not in this number: devhost keeps it in memory; see
  ``history_events`` and ``entity_operations`` for it.

Goals: Xero calls ≤ 2 with an existing contact and ≤ 3 with a new one; HubSpot calls ≤ 4 (also as ``figures``).
They apply to the default deal read (``HUBSPOT_DEAL_READ=auto``: one GraphQL call for the deal, its lines,
company and contact). ``rest_only`` repeats both cases with ``HUBSPOT_DEAL_READ=rest``, what a portal
without GraphQL (Starter hubs) costs: reported for information, with no goal.
Usage: python bench/saga_cost.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._figures import figure
from devhost.testing import DevHostProcess
from shared.connectors.hubspot import HubSpotClient
from simulators.testing import SimulatorsProcess
from tests.support.azurite import start_azurite
from tests.support.crm_data import create_won_deal

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-hubspot-token"
TENANT = "00000000-0000-0000-0000-00000000feed"
GOALS = {"new_contact": {"xero_calls": 3, "hubspot_calls": 4},
         "existing_contact": {"xero_calls": 2, "hubspot_calls": 4}}
STATS = {"activity_executions": "activity_executions_total", "orchestrator_episodes": "orchestrator_episodes",
         "history_events": "history_events_appended", "entity_operations": "entity_operations"}


def _api_calls(requests: list[dict[str, Any]]) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in requests if r["path"] != "/connect/token"]


def _existing_contact(sims: SimulatorsProcess, name: str, company_id: str) -> None:
    """The company is already a contact in Xero (made through Xero's API, as a bookkeeper would)."""
    with httpx.Client(base_url=sims.xero_url, timeout=10) as xero:
        token = xero.post("/connect/token", data={"grant_type": "client_credentials"},
                          auth=("bench", "bench")).json()["access_token"]
        response = xero.put("/api.xro/2.0/Contacts", headers={"Authorization": f"Bearer {token}",
                                                              "xero-tenant-id": TENANT},
                            json={"Contacts": [{"Name": name, "ContactNumber": company_id}]})
        response.raise_for_status()


def _wait_idle(host: DevHostProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.client.health().get("idle"):
            return
        time.sleep(0.05)
    raise SystemExit("devhost did not become idle")


def measure(host: DevHostProcess, sims: SimulatorsProcess, case: str, run: int) -> dict[str, Any]:
    company = f"Northwind Traders {run}"  # Xero wants active contact names unique
    deal = create_won_deal(sims.hubspot_url, company=company)
    if case == "existing_contact":
        _existing_contact(sims, company, deal.company_id)
    _wait_idle(host)
    sims.hubspot.clear_requests()
    sims.xero.clear_requests()
    before = host.client.stats()
    tx = host.client.start("deal_sync", {"deal_id": deal.deal_id, "trigger": "bench"}, f"deal-{deal.deal_id}")
    status = host.client.wait(tx, timeout=60)
    _wait_idle(host)
    after = host.client.stats()
    output = status.get("output") or {}
    if output.get("status") != "completed":
        raise SystemExit(f"{case}: the transaction did not complete: {status}")
    xero, hubspot = sims.xero.requests(), sims.hubspot.requests()
    records = (after["activity_executions"].get("record_transaction", 0)
               - before["activity_executions"].get("record_transaction", 0))
    result: dict[str, Any] = {
        "xero_calls": len(_api_calls(xero)),
        "hubspot_calls": len(_api_calls(hubspot)),
        **{name: after[key] - before[key] for name, key in STATS.items()},
        "ledger_upserts": records,
        "table_writes": 2 * records,
        "table_reads": 2 * records,
        "xero_token_requests": sum(1 for r in xero if r["path"] == "/connect/token"),
        "activities": {name: n - before["activity_executions"].get(name, 0)
                       for name, n in after["activity_executions"].items()
                       if n - before["activity_executions"].get(name, 0)},
        "xero_requests": _api_calls(xero),
        "hubspot_requests": _api_calls(hubspot),
    }
    goals = GOALS[case]
    result["goals"] = {k: f"<= {v}" for k, v in goals.items()}
    result["met"] = all(result[k] <= v for k, v in goals.items())
    return result


def run_cases(azurite_connection: str, deal_read: str) -> dict[str, Any]:
    with SimulatorsProcess() as sims:
        settings = {
            "AzureWebJobsStorage": azurite_connection,
            "LEDGER_TABLE_NAME": "BenchLedger",
            "HUBSPOT_BASE_URL": sims.hubspot_url,
            "HUBSPOT_ACCESS_TOKEN": TOKEN,
            "HUBSPOT_DEAL_READ": deal_read,
            "XERO_BASE_URL": f"{sims.xero_url}/api.xro/2.0",
            "XERO_TOKEN_URL": f"{sims.xero_url}/connect/token",
            "SYNC_SCHEDULE": "0 0 0 1 1 *",
            "PURGE_SCHEDULE": "0 0 0 1 1 *",
        }
        with DevHostProcess(REPO, settings_env=settings, clock="virtual",
                            extra_args=["--log-level", "WARNING"]) as host:
            with HubSpotClient(sims.hubspot_url, TOKEN, requests_per_10s=None) as crm:
                crm.ensure_app_properties()
            # A first transaction warms up the Xero token cache and the ledger table, as in steady state.
            measure(host, sims, "new_contact", 0)
            return {case: measure(host, sims, case, run)
                    for run, case in enumerate(("new_contact", "existing_contact"), start=1)}


def main() -> int:
    azurite = start_azurite()
    try:
        cases = run_cases(azurite.connection_string, "auto")
        rest = run_cases(azurite.connection_string, "rest")
    finally:
        azurite.stop()
    for result in rest.values():
        del result["goals"], result["met"]
    figures = [figure(f"{calls.replace('_', ' ')}, {case.replace('_', ' ')}", result[calls], "calls", goal, "<=")
               for case, result in cases.items() for calls, goal in GOALS[case].items()]
    figures += [figure(f"activity executions, {case.replace('_', ' ')}", result["activity_executions"], "activities")
                for case, result in cases.items()]
    figures += [figure(f"hubspot calls, {case.replace('_', ' ')}, REST only (no GraphQL; no goal)",
                       result["hubspot_calls"], "calls") for case, result in rest.items()]
    print(json.dumps({"transaction": "one happy-path deal_sync", **cases,
                      "met": all(c["met"] for c in cases.values()), "figures": figures,
                      "rest_only": {"note": "HUBSPOT_DEAL_READ=rest (portals without GraphQL); no goal", **rest}},
                     indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
