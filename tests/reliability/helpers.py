"""What the reliability tests share: won deals in bulk, signed webhooks, the ledger and Xero read in full."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared import names
from tests.e2e.conftest import FAST_HUBSPOT_SIM, FAST_XERO_SIM, Stack
from tests.e2e.saga_helpers import wait_for
from tests.support import burst
from tests.support.settings import sample_settings
from tests.support.signed_webhooks import hubspot_headers as signed_hubspot_headers

HUBSPOT_WEBHOOK = "/api/webhooks/hubspot"
XERO_WEBHOOK = "/api/webhooks/xero"
TERMINAL = frozenset({"completed", "compensated", "needs_attention", "already_synced", "skipped"})
SAMPLE = sample_settings()


def setting(stack: Stack, name: str) -> str:
    """The value the app runs with: the module's own setting, else the sample file's (devhost's fallback)."""
    return stack.settings.get(name, SAMPLE[name])


def seed_won_deals(stack: Stack, count: int, label: str, *, companies: int | None = None) -> list[str]:
    """``count`` won deals in the stack's HubSpot simulator (``tests.support.burst.seed_won_deals``)."""
    return burst.seed_won_deals(stack.sims.hubspot_url, count, label, companies=companies)


def seed_and_sync(stack: Stack, count: int, label: str) -> tuple[list[str], str]:
    """``count`` won deals in HubSpot, then a batch started as a person would (``POST /api/sync``): (deals, batch id).

    The simulators' rate limits are raised to the app's (``FAST_*``): these scenarios are about faults, not pacing.
    """
    stack.sims.hubspot.config(**FAST_HUBSPOT_SIM)
    stack.sims.xero.config(**FAST_XERO_SIM)
    deal_ids = seed_won_deals(stack, count, label)
    with httpx.Client(base_url=stack.client.base_url, timeout=30) as http:
        answer = http.post("/api/sync", json={})
    assert answer.status_code == 202, answer.text
    return deal_ids, str(answer.json()["id"])


def hubspot_headers(stack: Stack, body: bytes, *, secret: str | None = None) -> dict[str, str]:
    """Signature v3 over the exact URL called, as HubSpot signs a delivery."""
    key = setting(stack, "HUBSPOT_APP_SECRET") if secret is None else secret
    return signed_hubspot_headers(key, stack.client.base_url + HUBSPOT_WEBHOOK, body)


def post_hubspot_events(http: httpx.Client, stack: Stack, events: Sequence[dict[str, Any]]) -> httpx.Response:
    body = json.dumps(list(events)).encode()
    return http.post(HUBSPOT_WEBHOOK, content=body, headers=hubspot_headers(stack, body))


def all_ledger_rows(stack: Stack) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    token = None
    while True:
        page = stack.ledger.query(now - timedelta(days=1), now + timedelta(days=1), limit=500, continuation=token)
        rows += page.items
        token = page.continuation
        if token is None:
            return rows


def step_attempts(stack: Stack, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Per transaction, the most attempts any of its steps took (1: no retry), from the full ledger rows."""
    def most(row: dict[str, Any]) -> int:
        full = stack.ledger.get(row["id"], row["started_at"]) or {}
        return max((int(s.get("attempts") or 1) for s in full.get("steps") or []), default=0)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(most, rows))


def wait_terminal_rows(stack: Stack, deal_ids: set[str], timeout: float) -> list[dict[str, Any]]:
    """Wait until the ledger has a terminal row for every deal; returns every ledger row."""
    def done() -> list[dict[str, Any]] | None:
        rows = all_ledger_rows(stack)
        finished = {r["deal_id"] for r in rows if r["status"] in TERMINAL}
        return rows if deal_ids <= finished else None

    try:
        return list(wait_for("a terminal ledger row for every deal", done, timeout=timeout, interval=0.5))
    except AssertionError:
        rows = all_ledger_rows(stack)
        statuses = Counter(r["status"] for r in rows)
        missing = len(deal_ids - {r["deal_id"] for r in rows})
        raise AssertionError(f"not every deal finished in {timeout}s: ledger {dict(statuses)}, "
                             f"{missing} deals without a row") from None


def wait_instances_completed(stack: Stack, tx_ids: Sequence[str], timeout: float = 60) -> dict[str, dict[str, Any]]:
    """Every instance's final status (its orchestration ended, not only its ledger row)."""
    return {tx: stack.client.wait(tx, timeout=timeout, interval=0.05) for tx in tx_ids}


def invoices_by_reference(stack: Stack) -> Counter[str]:
    return Counter(str(i.get("Reference", "")) for i in stack.sims.xero.state()["invoices"])


def outcome_figures(stack: Stack, deal_ids: set[str]) -> dict[str, int]:
    """Invoices per deal as Xero holds them: how many deals got exactly one, none, or more than one."""
    refs = invoices_by_reference(stack)
    per_deal = [refs.get(f"Deal {d}", 0) for d in deal_ids]
    return {"invoices": sum(per_deal), "duplicates": sum(n - 1 for n in per_deal if n > 1),
            "lost": sum(1 for n in per_deal if n == 0)}


def disagreements(stack: Stack, tx_ids: list[str]) -> dict[str, str]:
    """Per transaction whose ledger row is missing or says something else than its entity: what differs."""
    rows = {r["id"]: r for r in all_ledger_rows(stack)}
    found: dict[str, str] = {}
    for tx in tx_ids:
        exists, entity = stack.client.read_entity(names.SYNC_TRANSACTION, tx)
        assert exists, f"{tx} has no entity"
        row = rows.get(tx)
        if row is None:
            found[tx] = f"no ledger row (entity {entity['status']})"
        elif (row["status"], row.get("updated_at")) != (entity["status"], entity["updated_at"]):
            found[tx] = f"ledger {row['status']} at {row.get('updated_at')}, entity {entity['status']} " \
                        f"at {entity['updated_at']}"
    return found
