"""The bench report: every figure against its goal, errors as rows, legacy bench shapes understood, a real PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import __main__ as bench_main
from bench._figures import figure
from bench.report import chart_rows, markdown, rows, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _table_lines(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Bench")]


def test_a_figure_with_a_goal_renders_with_its_goal_and_met_flag() -> None:
    results = {"backfill": {"figures": [figure("Xero call budget used", 0.944, "share", 0.9, ">="),
                                        figure("transactions failed by 429s", 2, "transactions", 0, "<=")]}}

    lines = _table_lines(markdown(results))

    assert "| backfill | Xero call budget used | 94.4% | >= 90.0% | yes |" in lines
    assert "| backfill | transactions failed by 429s | 2 transactions | <= 0 transactions | **no** |" in lines


def test_a_figure_without_a_goal_shows_a_dash_not_a_met_flag() -> None:
    md = markdown({"devhost": {"figures": [figure("orchestrations per second", 41.5, "orchestrations/s")]}})

    assert "| devhost | orchestrations per second | 41.5 orchestrations/s | — | — |" in _table_lines(md)


def test_a_bench_that_errored_is_an_error_row_not_dropped() -> None:
    results = {"ok": {"figures": [figure("p99", 12.0, "ms", 100, "<=")]},
               "broken": {"error": "Traceback ...\nRuntimeError: devhost did not start", "seconds": 3.2}}

    md = markdown(results)

    assert "| broken | error | error: RuntimeError: devhost did not start | — | **error** |" in _table_lines(md)
    assert "benches failed: 1" in md


def test_a_bench_without_any_figure_still_gets_a_row() -> None:
    assert [(r.bench, r.name) for r in rows({"quiet": {"instances": 10}})] == [("quiet", "(no figures reported)")]


def test_run_metadata_is_not_a_bench() -> None:
    results: dict[str, Any] = {"_runs": {"a": {"at": "2026-01-01T00:00:00+00:00", "seconds": 1.0}},
                               "a": {"figures": []}}

    assert {r.bench for r in rows(results)} == {"a"}
    assert "| a | 2026-01-01T00:00:00+00:00 | 1.0 |" in markdown(results)


def test_a_legacy_goal_object_is_read_as_a_figure() -> None:
    # webhook_latency and status_query's older shape: {"p50_ms", "p99_ms", "goal": "p99 <= 100 ms", "met"}
    results = {"webhook_latency": {"new_deals": {"p50_ms": 20.1, "p99_ms": 140.2, "goal": "p99 <= 100 ms",
                                                 "met": False}},
               "status_query": {"scan_over_page_p95": {"ratio": 31.4, "goal": ">= 10x", "met": True}}}

    found = {(r.bench, r.name): r for r in rows(results)}

    latency = found[("webhook_latency", "new_deals p99_ms")]
    assert (latency.value, latency.unit, latency.goal, latency.goal_value, latency.met) == (
        140.2, "ms", "p99 <= 100 ms", 100.0, False)
    ratio = found[("status_query", "scan_over_page_p95 ratio")]
    assert (ratio.value, ratio.met) == (31.4, True)


def test_a_legacy_goals_map_gives_one_figure_per_goal_met_by_its_own_value() -> None:
    # saga_cost's older shape: {"xero_calls": 3, "hubspot_calls": 5, "goals": {"xero_calls": "<= 3", ...}}
    results = {"saga_cost": {"new_contact": {"xero_calls": 3, "hubspot_calls": 5,
                                             "goals": {"xero_calls": "<= 3", "hubspot_calls": "<= 4"}}}}

    assert {r.name: r.met for r in rows(results)} == {"new_contact xero_calls": True,
                                                      "new_contact hubspot_calls": False}


def test_the_chart_shows_throughputs_budget_shares_and_latencies_not_counts() -> None:
    results = {"b": {"figures": [figure("rate", 19.0, "invoices/min"), figure("p99", 80.0, "ms", 100, "<="),
                                 figure("budget", 0.95, "share", 0.9, ">="), figure("calls", 3, "calls", 3, "<=")]}}

    assert [r.name for r in chart_rows(results)] == ["rate", "p99", "budget"]


def test_write_report_writes_the_markdown_and_a_real_png(tmp_path: Path) -> None:
    results = {"b": {"figures": [figure("rate", 19.0, "invoices/min"), figure("p99", 80.0, "ms", 100, "<=")]},
               "broken": {"error": "boom", "seconds": 1}}

    md, png = write_report(results, tmp_path)

    assert png.read_bytes().startswith(PNG_SIGNATURE)
    assert png.stat().st_size > 1000
    assert "![Throughput and latency figures](report.png)" in md.read_text()


def test_write_report_writes_a_png_even_with_nothing_to_chart(tmp_path: Path) -> None:
    _, png = write_report({"broken": {"error": "boom"}}, tmp_path)

    assert png.read_bytes().startswith(PNG_SIGNATURE)


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(bench_main, "RESULTS", tmp_path)
    monkeypatch.setattr(bench_main, "LATEST", tmp_path / "latest.json")
    return tmp_path


def test_report_only_renders_from_latest_json_without_running_a_bench(
        results_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (results_dir / "latest.json").write_text(json.dumps({"b": {"figures": [figure("p99", 80.0, "ms", 100, "<=")]}}))
    monkeypatch.setattr(bench_main, "run", lambda script: pytest.fail(f"ran {script}"))

    assert bench_main.main(["--report-only"]) == 0
    assert "| b | p99 | 80 ms | <= 100 ms | yes |" in (results_dir / "report.md").read_text()


def test_running_a_subset_keeps_the_other_benches_previous_figures(
        results_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = {"figures": [figure("orchestrations per second", 40.0, "orchestrations/s")]}
    (results_dir / "latest.json").write_text(json.dumps({"devhost_throughput": old}))
    new = {"figures": [figure("p99", 80.0, "ms", 100, "<=")]}
    monkeypatch.setattr(bench_main, "run", lambda script: (True, new, {"at": "now", "seconds": 1.0}))

    assert bench_main.main(["webhook_latency"]) == 0

    saved = json.loads((results_dir / "latest.json").read_text())
    assert saved["devhost_throughput"] == old
    assert saved["webhook_latency"] == new
    assert saved["_runs"]["webhook_latency"]["seconds"] == 1.0


def test_a_failed_bench_makes_the_run_fail_and_is_reported(results_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_main, "run", lambda script: (False, {"error": "boom", "seconds": 1.0}, {}))

    assert bench_main.main(["saga_cost"]) == 1
    assert "| saga_cost | error | error: boom | — | **error** |" in (results_dir / "report.md").read_text()
