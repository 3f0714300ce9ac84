"""History retention end to end: the purge timer removes finished orchestrations' history, and nothing a
person or a trigger relies on goes with it (devhost + Azurite + simulators, the timer run as the host would)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from shared import names
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import XERO_API, invoices, start_deal, wait_custom_status, wait_for
from tests.e2e.test_webhooks_e2e import HUBSPOT_PATH, created_event, hubspot_headers, post, won_event
from tests.support.crm_data import create_won_deal

pytestmark = pytest.mark.e2e
RETENTION_S = 2.0


# The real clock: the purge compares creation times with the worker's own clock.
stack_host = module_host({**FAST_APP_LIMITS, "HISTORY_RETENTION_DAYS": str(RETENTION_S / 86400)}, clock=None)


def _deliver(stack: Stack, *events: dict[str, object]) -> dict[str, object]:
    body = json.dumps(list(events)).encode()
    status, raw, _ = post(stack, HUBSPOT_PATH, body, hubspot_headers(stack, body))
    assert status == 200, raw
    batch = stack.client.wait(json.loads(raw)["batch"], timeout=60)
    assert batch["runtimeStatus"] == "Completed", batch
    return dict(batch["output"])


def test_purging_old_history_keeps_transactions_their_dedupe_and_anything_still_waiting(fast_stack: Stack) -> None:
    stack = fast_stack
    won = create_won_deal(stack.sims.hubspot_url, company="Purge Won")
    early = create_won_deal(stack.sims.hubspot_url, company="Purge Early", stage="appointmentscheduled")
    assert _deliver(stack, won_event(won.deal_id, 9700), created_event(early.deal_id, 9701))["started"] == [
        f"deal-{won.deal_id}", f"deal-{early.deal_id}"]
    assert stack.client.wait(f"deal-{won.deal_id}", timeout=60)["output"]["status"] == "completed"
    assert stack.client.wait(f"deal-{early.deal_id}", timeout=60)["output"]["status"] == "skipped"
    # A transaction waiting for a person: the write-back and the void both refused.
    stuck = create_won_deal(stack.sims.hubspot_url, company="Purge Stuck")
    stack.sims.hubspot.add_fault(f"/crm/objects/2026-09/deals/{stuck.deal_id}", 400, method="PATCH", times=1, skip=1)
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices/*", 400, method="POST", times=-1)
    stuck_tx = start_deal(stack, stuck.deal_id)
    wait_custom_status(stack, stuck_tx, "needs_attention")
    before = stack.ledger_rows(won.deal_id) + stack.ledger_rows(early.deal_id)

    time.sleep(RETENTION_S + 0.5)
    assert stack.client.invoke_function(names.PURGE_HISTORY) == 202
    wait_for("the finished history to be purged", lambda: stack.client.status(f"deal-{won.deal_id}") is None)
    assert stack.client.status(f"deal-{early.deal_id}") is None
    assert stack.client.status(stuck_tx)["runtimeStatus"] == "Running"  # type: ignore[index]

    # What people and triggers rely on is still there: the transaction, its ledger rows, the page's API.
    api = httpx.get(f"{stack.client.base_url}/api/transactions/deal-{won.deal_id}", timeout=10)
    assert api.status_code == 200 and api.json()["status"] == "completed", api.text
    assert stack.ledger_rows(won.deal_id) + stack.ledger_rows(early.deal_id) == before
    # A later delivery for the invoiced deal starts nothing (its entity says completed), and the early
    # deal's win is synced as its next generation.
    httpx.patch(f"{stack.sims.hubspot_url}/crm/objects/2026-09/deals/{early.deal_id}", timeout=10,
                headers={"Authorization": "Bearer test-token"},
                json={"properties": {"dealstage": "closedwon"}}).raise_for_status()
    again = _deliver(stack, won_event(won.deal_id, 9710), won_event(early.deal_id, 9711))
    assert again["duplicates"] == [f"deal-{won.deal_id}"], again
    assert again["started"] == [f"deal-{early.deal_id}-g2"], again
    assert stack.client.wait(f"deal-{early.deal_id}-g2", timeout=60)["output"]["status"] == "completed"
    numbers = sorted(i["Reference"] for i in invoices(stack) if i["Status"] == "AUTHORISED")
    assert numbers == sorted(f"Deal {d}" for d in (won.deal_id, early.deal_id, stuck.deal_id)), numbers

    # The waiting transaction still takes a person's decision.
    stack.sims.xero.clear_faults()
    assert stack.client.raise_event(stuck_tx, names.manual_event("compensate", 0)) in (200, 202)
    assert stack.client.wait(stuck_tx, timeout=60)["output"]["status"] == "compensated"
