"""Issue #13, storage outage: the app's storage account (Azurite here) goes away in the middle of a batch.

devhost keeps its task hub in its own store, so the sagas go on while the ledger table, the decisions table
and the Xero budget row cannot be reached: every ledger write of that stretch fails its retries. In Azure
the task hub lives in the same account and stalls too; the ledger is what must not stay wrong afterwards.
After recovery, one scheduled run (what the timer does every few minutes) must leave every won deal
invoiced exactly once, every ledger row agreeing with its transaction's entity, none missing, and nobody
asked to do anything.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from shared import names
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import wait_for
from tests.reliability.figures import report
from tests.reliability.helpers import (
    all_ledger_rows,
    disagreements,
    outcome_figures,
    seed_and_sync,
    wait_instances_completed,
)
from tests.support.azurite import Azurite, start_azurite

DEALS = 12


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    """This module's own Azurite, on disk, so that it can go down and come back with its data."""
    instance = start_azurite(persistent=True)
    try:
        yield instance
    finally:
        instance.stop()


stack_host = module_host({**FAST_APP_LIMITS, "SYNC_BATCH_CONCURRENCY": "10"})


@pytest.mark.e2e
def test_after_a_storage_outage_one_scheduled_run_makes_every_ledger_row_agree_with_its_transaction(
    fresh_stack: Stack, azurite: Azurite,
) -> None:
    stack = fresh_stack
    started = time.monotonic()
    deal_ids, batch_id = seed_and_sync(stack, DEALS, "Storage Co")
    tx_ids = [f"deal-{d}" for d in deal_ids]
    wait_for("a few invoices", lambda: len(stack.sims.xero.state()["invoices"]) >= 4, timeout=60, interval=0.02)

    azurite.go_down()
    down_at = time.monotonic()
    try:
        final = wait_instances_completed(stack, tx_ids, timeout=120)  # the sagas do not need the ledger
        invoices_while_down = len(stack.sims.xero.state()["invoices"])
        time.sleep(1.0)
    finally:
        azurite.come_back()
    outage_s = time.monotonic() - down_at
    stale_before = disagreements(stack, tx_ids)

    assert stack.client.invoke_function(names.SCHEDULED_SYNC) == 202  # what the timer runs
    wait_for("the ledger repaired", lambda: not disagreements(stack, tx_ids), timeout=60, interval=0.5)
    repaired_s = time.monotonic() - down_at - outage_s
    rows = all_ledger_rows(stack)
    outcomes = Counter(str((s.get("output") or {}).get("status")) for s in final.values())
    figures = outcome_figures(stack, set(deal_ids))
    report(f"reliability storage outage: deals={DEALS} outage_s={outage_s:.1f} "
           f"invoices_while_down={invoices_while_down} rows_wrong_after_outage={len(stale_before)} "
           f"missing_after_outage={sum(1 for v in stale_before.values() if v.startswith('no ledger row'))} "
           f"rows_wrong_after_repair=0 repair_s={repaired_s:.1f} completed={outcomes['completed']} "
           f"invoices={figures['invoices']} duplicates={figures['duplicates']} lost={figures['lost']} "
           f"total_s={time.monotonic() - started:.1f}")

    assert stale_before, "the outage met no ledger write: it tested nothing"
    assert stack.client.wait(batch_id, timeout=60)["runtimeStatus"] == "Completed"
    assert outcomes == Counter({"completed": DEALS}), outcomes
    assert Counter(r["status"] for r in rows) == Counter({"completed": DEALS})
    assert figures == {"invoices": DEALS, "duplicates": 0, "lost": 0}, figures
