"""The status page in headless Chromium (Debian's, never a downloaded one) against devhost, simulators and Azurite.

Transactions of every status the saga produces are made for real, by running sagas against the simulators with
faults; then the page is driven like a person would: filter, open a row, roll back a transaction that needs
attention once its cause is cleared.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import POLICY, REPO, Stack
from tests.support.crm_data import create_won_deal

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-features=MediaRouter,OptimizationHints", "--no-default-browser-check"]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed"
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests need a browser on CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=ARGS, viewport={"width": 1280, "height": 900})
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _start(stack: Stack, deal_id: str, tx: str, generation: int = 1) -> dict[str, Any]:
    stack.client.start("deal_sync", {"deal_id": deal_id, "trigger": "test", "policy": POLICY,
                                     "generation": generation}, tx)
    return stack.client.wait(tx, timeout=90)


def seed(stack: Stack) -> dict[str, str]:
    """One transaction per status the saga ends in; returns status -> transaction id."""
    hub = stack.sims.hubspot_url
    made: dict[str, str] = {}

    ok = create_won_deal(hub, company="Contoso Completed")
    assert stack.run_deal(ok.deal_id)["output"]["status"] == "completed"
    made["completed"] = f"deal-{ok.deal_id}"

    # The same deal synced again as a new generation: the CRM says it has its invoice already.
    tx = f"deal-{ok.deal_id}-g2"
    assert _start(stack, ok.deal_id, tx, generation=2)["output"]["status"] == "already_synced"
    made["already_synced"] = tx

    # Xero refuses the invoice (a validation error): everything done before is undone.
    refused = create_won_deal(hub, company="Fabrikam Refused")
    stack.sims.xero.add_fault("/api.xro/2.0/Invoices", 400, method="PUT", times=1)
    assert stack.run_deal(refused.deal_id)["output"]["status"] == "compensated"
    made["compensated"] = f"deal-{refused.deal_id}"

    # The write-back to the CRM fails for good, and the invoice cannot be voided: a person must act.
    stuck = create_won_deal(hub, company="Tailspin Stuck")
    stack.sims.hubspot._call("POST", "/_sim/faults", {
        "path": f"/crm/objects/2026-09/deals/{stuck.deal_id}", "method": "PATCH", "status": 400, "times": 1, "skip": 1})
    stack.sims.xero.add_fault("/api.xro/2.0/Invoices/*", 400, method="POST", times=-1)
    tx = f"deal-{stuck.deal_id}"
    stack.client.start("deal_sync", {"deal_id": stuck.deal_id, "trigger": "test", "policy": POLICY}, tx)
    stack.client.wait(tx, timeout=90, statuses=("Running", "Completed", "Failed"))
    made["needs_attention"] = tx
    _wait_for_status(stack, tx, "needs_attention")
    return made


def _wait_for_status(stack: Stack, tx: str, status: str, timeout: float = 90) -> None:
    import time

    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        _, last = stack.client.read_entity("sync_transaction", tx)
        if isinstance(last, dict) and last.get("status") == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{tx} did not become {status}; last state {last}")


def test_status_page_filters_shows_timeline_and_compensates(stack: Stack, browser_context: Any) -> None:
    from playwright.sync_api import expect

    made = seed(stack)
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(stack.client.base_url + "/api/status")
    page.wait_for_selector("#rows tr[data-i]")
    # The saga's clock may run ahead (durable timers on the virtual clock): look at 30 days around now.
    page.click(".presets button[data-hours='720']")
    expect(page.locator("#message")).to_have_text("4 transaction(s) in the window")
    expect(page.locator("#rows tr[data-i]")).to_have_count(4)

    statuses = page.eval_on_selector_all("#rows tr[data-i] td.badge", "els => els.map(e => e.textContent)")
    for status in ("completed", "compensated", "needs attention", "already synced"):
        assert status in statuses, statuses
    counts = page.inner_text("#counts")
    assert "needs attention\n1" in counts and "completed\n1" in counts, counts
    page.screenshot(path=str(ARTIFACTS / "status-1280.png"), full_page=True)

    # Filtering by status asks the API for that status only.
    page.select_option("#status", "compensated")
    expect(page.locator("#rows tr[data-i] td.badge")).to_have_text(["compensated"])
    expect(page.locator("#counts")).to_contain_text("needs attention1")  # counts stay those of the whole window
    page.select_option("#status", "needs_attention")
    expect(page.locator("#rows tr[data-i] td.badge")).to_have_text(["needs attention"])

    # The row's detail: the step timeline, the compensations that failed, and the actions.
    page.click("#rows tr[data-i]")
    page.wait_for_selector("#detail .timeline li")
    detail = page.inner_text("#detail")
    assert made["needs_attention"] in detail
    assert "invoice 3250.50 EUR · HubSpot 3250.50 EUR" in detail, detail  # HubSpot's deal amount beside the invoice's
    steps = page.eval_on_selector_all("#detail ol.timeline li b", "els => els.map(e => e.textContent)")
    assert steps == ["load", "claim", "customer", "invoice", "write_back"], steps
    assert "still to undo" in detail or "undo invoice" in detail, detail

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "status-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # Clear the cause (Xero lets the invoice be voided again), then roll back from the page.
    stack.sims.xero.clear_faults()
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("#detail button[data-action='compensate']")
    expect(page.locator("#message")).to_contain_text("compensate requested")
    assert dialogs and "roll back" in dialogs[0]
    _wait_for_status(stack, made["needs_attention"], "compensated")
    reference = f"Deal {made['needs_attention'].removeprefix('deal-')}"
    invoice = [i for i in stack.sims.xero.state()["invoices"] if i["Reference"] == reference]
    assert [i["Status"] for i in invoice] == ["VOIDED"]

    page.select_option("#status", "compensated")
    expect(page.locator("#rows tr[data-i]")).to_have_count(2)
    page.click(f"#rows tr[aria-label^='Transaction {made['needs_attention']},']")
    expect(page.locator("#detail h2")).to_contain_text(made["needs_attention"])
    expect(page.locator("#detail h2")).to_contain_text("compensated")
    # Each undo attempt is shown once, as it ended (the log's "running" entries are folded into it).
    undos = page.eval_on_selector_all("#detail ul.timeline li", "els => els.map(e => e.textContent)")
    assert undos and not any("— running" in u for u in undos), undos
    assert sum("undo claim" in u and "— done" in u for u in undos) == 1, undos
    page.screenshot(path=str(ARTIFACTS / "status-1280-compensated.png"), full_page=True)
    assert errors == [], errors


def test_a_deal_queued_for_its_batch_says_so_and_its_step_links_to_the_batch_s_row(
        fresh_stack: Stack, browser_context: Any) -> None:
    from playwright.sync_api import expect

    stack = fresh_stack
    deals = [create_won_deal(stack.sims.hubspot_url, company=f"Batched Browser {i}") for i in range(6)]
    policy = {**POLICY, "batched_steps": True, "batch_wait_seconds": 30, "batch_org": f"br{deals[0].deal_id}"}
    stack.client.add_fault("wake_batch_flusher", "delay", times=-1, delay_ms=6000)  # the queued deals wait
    for d in deals:
        stack.client.start("deal_sync", {"deal_id": d.deal_id, "trigger": "test", "policy": policy},
                           f"deal-{d.deal_id}")
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(stack.client.base_url + "/api/status")
    page.click(".presets button[data-hours='720']")

    import time
    limit, waiting = time.monotonic() + 60, None
    while waiting is None:
        assert time.monotonic() < limit, "no deal was ever queued for its batch"
        for d in deals[1:]:  # the first one finds the queue empty and goes alone
            shown = stack.client.request("GET", f"/api/transactions/deal-{d.deal_id}")[2]
            if isinstance(shown, dict) and shown.get("queued"):
                waiting = d
                break
        time.sleep(0.1)
    page.fill("#deal", waiting.deal_id)
    page.click("#filters button[type='submit']")
    page.click(f"#rows tr[aria-label^='Transaction deal-{waiting.deal_id},']")
    expect(page.locator("#detail #queued")).to_contain_text("queued for batch: step ")

    for d in deals:
        assert stack.client.wait(f"deal-{d.deal_id}", timeout=120)["output"]["status"] == "completed"
    page.click(f"#rows tr[aria-label^='Transaction deal-{waiting.deal_id},']")
    expect(page.locator("#detail h2")).to_contain_text("completed")
    expect(page.locator("#detail #queued")).to_have_count(0)
    link = page.locator("#detail a.batch-link").first  # the step it waited for was made in a batch
    batch_id = link.inner_text()
    link.click()
    expect(page.locator("#batch-detail h3")).to_have_text(f"Batch {batch_id}")
    expect(page.locator("#batch-detail")).to_contain_text(f"deal-{waiting.deal_id}")
    expect(page.locator("#batch-detail")).to_contain_text("refused 0 · errors 0")
    page.fill("#deal", "")
    page.click("#filters button[type='submit']")
    expect(page.locator(f"#batch-rows tr[data-batch='{batch_id}']")).to_have_count(1)
    row = page.locator(f"#batch-rows tr[data-batch='{batch_id}'] td").all_inner_texts()
    assert row[1] == batch_id and row[2] in ("load", "markers", "customer", "invoice"), row
    assert int(row[3]) >= 2 and row[7] == "0", row
    page.screenshot(path=str(ARTIFACTS / "status-1280-batches.png"), full_page=True)
    assert errors == [], errors


def test_a_deal_waiting_for_xero_daily_limit_shows_when_its_next_attempt_is_due(
        fresh_stack: Stack, browser_context: Any) -> None:
    """Last in the module: the app's Xero limiter stays paused for the 10 minutes Xero asked for."""
    from playwright.sync_api import expect

    stack = fresh_stack  # new deal ids: the first test's transactions are still in devhost

    deal = create_won_deal(stack.sims.hubspot_url, company="Wingtip Waiting")
    stack.sims.xero.add_fault("/api.xro/2.0/Invoices", 429, method="PUT", times=1,
                              headers={"Retry-After": "600", "X-Rate-Limit-Problem": "day"})
    tx = f"deal-{deal.deal_id}"
    stack.client.clock(auto_advance=False)  # the wait takes real time, as it would in Azure
    try:
        stack.client.start("deal_sync", {"deal_id": deal.deal_id, "trigger": "test", "policy": POLICY}, tx)

        def waiting() -> bool:
            _, state = stack.client.read_entity("sync_transaction", tx)
            steps = {s["name"]: s for s in (state or {}).get("steps", [])}
            return bool(steps.get("invoice", {}).get("retry_at"))

        import time
        limit = time.monotonic() + 30
        while not waiting():
            assert time.monotonic() < limit, "the invoice step never waited"
            time.sleep(0.1)
        page = browser_context.new_page()
        page.goto(stack.client.base_url + "/api/status")
        page.wait_for_selector("#rows tr[data-i]")

        # The preset's answer comes back after the filter's (a slow network, a busy host).
        page.evaluate("""() => { const real = window.fetch; window.fetch = async (url, opts) => {
            const answer = await real(url, opts);
            if (String(url).includes("transactions?") && !String(url).includes("status=")) {
                await new Promise(done => setTimeout(done, 700)); }
            return answer; }; }""")
        page.click(".presets button[data-hours='720']")
        page.select_option("#status", "running")  # at once: the page shows the newest request's answer
        page.wait_for_timeout(1200)
        expect(page.locator("#rows tr[data-i] td.badge")).to_have_text(["running"])
        page.click("#rows tr[data-i]")
        expect(page.locator("#detail h2")).to_contain_text(f"{tx} running")
        invoice = page.locator("#detail ol.timeline li", has_text="invoice")
        expect(invoice).to_contain_text("retrying")
        expect(invoice).to_contain_text("(day limit)")
        expect(invoice.locator(".retry-at")).to_contain_text("next attempt ")
        shown = invoice.locator(".retry-at").inner_text()
        _, state = stack.client.read_entity("sync_transaction", tx)
        retry_at = next(s["retry_at"] for s in state["steps"] if s["name"] == "invoice")
        assert retry_at[:19].replace("T", " ") in shown, (shown, retry_at)
        page.screenshot(path=str(ARTIFACTS / "status-1280-waiting.png"), full_page=True)
    finally:
        stack.client.terminate(tx, "the test is over; the wait would last 10 minutes")
        stack.client.clock(auto_advance=True)
