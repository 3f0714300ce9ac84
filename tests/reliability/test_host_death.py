"""Issue #8, host death: the host is killed (SIGKILL) in the middle of a 100-deal batch and started again.

devhost keeps its durable state in SQLite (``--state``), as the real host keeps it in the task hub: the
restarted host resumes every unfinished orchestration, runs again the activities that were in flight
(their side effects may already have happened: at least once) and fires the pending timers. Every deal
must still end with one transaction, one invoice and one contact.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostProcess
from simulators.testing import SimulatorsProcess
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, app_host
from tests.e2e.saga_helpers import wait_for
from tests.reliability.figures import report
from tests.reliability.helpers import all_ledger_rows, outcome_figures, seed_and_sync, wait_instances_completed
from tests.support.azurite import Azurite

DEALS = 100


@pytest.fixture(scope="module")
def state_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devhost-state") / "state.db"


@pytest.fixture(scope="module")
def stack_host(azurite: Azurite, simulators: SimulatorsProcess,
               state_file: Path) -> Iterator[tuple[DevHostProcess, dict[str, str]]]:
    settings = {**FAST_APP_LIMITS, "SYNC_BATCH_CONCURRENCY": "20"}
    with app_host(azurite, simulators, settings, state_file=state_file) as pair:
        yield pair


@pytest.mark.e2e
def test_host_killed_mid_batch_resumes_and_invoices_every_deal_once_with_one_contact(
    fresh_stack: Stack, state_file: Path,
) -> None:
    stack = fresh_stack
    started = time.monotonic()
    deal_ids, batch_id = seed_and_sync(stack, DEALS, "Crash Co")
    kills: list[tuple[int, int]] = []  # (invoices in Xero, instances running) at each kill
    for share in (1 / 3, 2 / 3):  # killed twice: the second time while it recovers from the first
        wait_for(f"{share:.0%} of the invoices", lambda s=share: len(stack.sims.xero.state()["invoices"]) >= DEALS * s,
                 timeout=60, interval=0.02)
        running = stack.client.stats()["instances_by_status"].get("Running", 0)
        pid = stack.host.pid
        stack.host.kill()  # SIGKILL: whatever the store had not committed is gone
        killed = time.monotonic()
        invoices_at_kill = len(stack.sims.xero.state()["invoices"])
        kills.append((invoices_at_kill, running))
        time.sleep(0.3)  # nothing runs while the host is down
        assert len(stack.sims.xero.state()["invoices"]) == invoices_at_kill
        stack.host.start()  # the same port and state file
        assert stack.host.pid != pid

    batch = stack.client.wait(batch_id, timeout=120)
    tx_ids = [f"deal-{d}" for d in deal_ids]
    final = wait_instances_completed(stack, tx_ids)
    done = time.monotonic()
    after = stack.client.stats()
    outcomes = Counter(str((s.get("output") or {}).get("status")) for s in final.values())
    rows = all_ledger_rows(stack)
    state = stack.sims.xero.state()
    figures = outcome_figures(stack, set(deal_ids))
    report(
        f"reliability host death: deals={DEALS} sigkills={len(kills)} "
        f"invoices_at_kills={[k[0] for k in kills]} instances_running_at_kills={[k[1] for k in kills]} "
        f"activities_after_last_restart={after['activity_executions_total']} "
        f"transactions={len(final)} completed={outcomes['completed']} invoices={figures['invoices']} "
        f"duplicates={figures['duplicates']} lost={figures['lost']} contacts={len(state['contacts'])} "
        f"last_restart_to_done_s={done - killed:.1f} total_s={done - started:.1f} "
        f"state_file_kb={state_file.stat().st_size // 1024}")

    assert all(0 < invoiced < DEALS and running > 0 for invoiced, running in kills), "a kill missed the batch"
    assert batch["runtimeStatus"] == "Completed", batch
    assert batch["output"]["started"] == DEALS, batch["output"]
    assert outcomes == Counter({"completed": DEALS}), outcomes
    assert Counter(r["status"] for r in rows) == Counter({"completed": DEALS})
    assert figures == {"invoices": DEALS, "duplicates": 0, "lost": 0}, figures
    assert {i["Status"] for i in state["invoices"]} == {"AUTHORISED"}
    assert len(state["contacts"]) == len({c["ContactNumber"] for c in state["contacts"]}) == DEALS
    assert {c["ContactStatus"] for c in state["contacts"]} == {"ACTIVE"}
