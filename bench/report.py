"""Render bench/results/latest.json as a table of figures against goals (report.md) and a chart (report.png)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._figures import OPS

THROUGHPUT_UNITS = ("/s", "/min")
LATENCY_UNITS = ("ms",)
# A goal as older benches write it: "p99 <= 100 ms", ">= 10x", "<= 3".
_GOAL = re.compile(r"^\s*(?P<metric>[A-Za-z_]\w*)?\s*(?P<op><=|>=|==|<|>)\s*(?P<num>-?\d+(?:\.\d+)?)\s*(?P<unit>\S*)")


@dataclass(frozen=True)
class Row:
    bench: str
    name: str
    value: Any = None
    unit: str = ""
    goal: str = ""  # as shown: "<= 100 ms"
    goal_value: float | None = None  # for the chart
    met: bool | None = None  # None: no goal
    error: str = ""


def rows(results: dict[str, Any]) -> list[Row]:
    """Every figure of every bench, in bench order; an errored or figure-less bench still gets a row."""
    out: list[Row] = []
    for bench, output in results.items():
        if bench.startswith("_"):
            continue  # run metadata, not a bench
        found = _bench_rows(bench, output)
        out += found or [Row(bench, "(no figures reported)")]
    return out


def _bench_rows(bench: str, output: Any) -> list[Row]:
    if not isinstance(output, dict):
        return [Row(bench, "error", error=f"not a JSON object: {str(output)[:200]}")]
    if "error" in output and not output.get("figures"):
        return [Row(bench, "error", error=_last_line(str(output["error"])))]
    if isinstance(output.get("figures"), list):
        return [_from_figure(bench, f) for f in output["figures"]]
    return _legacy_rows(bench, output, "")


def _from_figure(bench: str, f: Any) -> Row:
    if not isinstance(f, dict) or "name" not in f:
        return Row(bench, "error", error=f"malformed figure: {str(f)[:200]}")
    unit, goal, op = str(f.get("unit") or ""), f.get("goal"), f.get("op")
    shown = f"{op} {_number(goal, unit)}" if goal is not None and op else ""
    met = f.get("met")
    return Row(bench, str(f["name"]), f.get("value"), unit, shown,
               float(goal) if isinstance(goal, int | float) else None, met if isinstance(met, bool) else None)


def _legacy_rows(bench: str, node: dict[str, Any], path: str) -> list[Row]:
    """Benches without ``figures``: any object with ``goal`` and ``met``, or with a ``goals`` map, is a figure."""
    found: list[Row] = []
    if isinstance(node.get("goal"), str) and "met" in node:
        found.append(_goal_row(bench, node, path))
    if isinstance(node.get("goals"), dict):
        for key, goal in node["goals"].items():
            parsed = _GOAL.match(str(goal))
            value = node.get(key)
            met = (OPS[parsed["op"]](value, float(parsed["num"]))
                   if parsed and isinstance(value, int | float) else None)
            found.append(Row(bench, _join(path, key), value, _unit_of(key, parsed), str(goal),
                             float(parsed["num"]) if parsed else None, met))
    for key, child in node.items():
        if isinstance(child, dict) and key != "goals":
            found += _legacy_rows(bench, child, _join(path, key))
    return found


def _goal_row(bench: str, node: dict[str, Any], path: str) -> Row:
    parsed = _GOAL.match(node["goal"])
    numbers = {k: v for k, v in node.items()
               if isinstance(v, int | float) and not isinstance(v, bool) and k not in ("goal", "met")}
    key = None
    if parsed and parsed["metric"]:
        key = next((k for k in numbers if k == parsed["metric"] or k.startswith(parsed["metric"] + "_")), None)
    elif len(numbers) == 1:
        key = next(iter(numbers))
    met = node["met"] if isinstance(node["met"], bool) else None
    return Row(bench, _join(path, key or ""), numbers.get(key) if key else None, _unit_of(key or "", parsed),
               node["goal"], float(parsed["num"]) if parsed else None, met)


def _unit_of(key: str, parsed: re.Match[str] | None) -> str:
    if parsed and parsed["unit"]:
        return parsed["unit"]
    return "ms" if key.endswith("_ms") else ""


def _join(path: str, key: str) -> str:
    return f"{path} {key}".strip() if key else path or "(figure)"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "failed with no output")[:300]


def _number(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "share" and isinstance(value, int | float):
        return f"{value:.1%}"
    if isinstance(value, float):
        text = f"{value:,.3f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip() if unit and unit != "share" else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _met(row: Row) -> str:
    if row.error:
        return "**error**"
    return {True: "yes", False: "**no**", None: "—"}[row.met]


def markdown(results: dict[str, Any], chart: str | None = "report.png") -> str:
    """The report: one table row per figure (errors as rows), then when each bench ran, then the chart."""
    table = rows(results)
    goals = [r for r in table if r.met is not None]
    errors = [r for r in table if r.error]
    lines = ["# Benchmark report", "",
             "Generated by `make bench` (`python -m bench`) from `bench/results/latest.json`. "
             f"Goals met: {sum(1 for r in goals if r.met)} of {len(goals)}; benches failed: {len(errors)}.", "",
             "| Bench | Figure | Value | Goal | Met |", "|---|---|---|---|---|"]
    for r in table:
        value = f"error: {r.error}" if r.error else _number(r.value, r.unit)
        lines.append(f"| {_cell(r.bench)} | {_cell(r.name)} | {_cell(value)} | {_cell(r.goal or '—')} | {_met(r)} |")
    runs = results.get("_runs")
    if isinstance(runs, dict) and runs:
        lines += ["", "| Bench | Ran at (UTC) | Seconds | Load average (1 min) at start | CPUs |",
                  "|---|---|---|---|---|"]
        for bench, run in runs.items():
            if isinstance(run, dict):
                lines.append(f"| {_cell(bench)} | {run.get('at', '—')} | {run.get('seconds', '—')} | "
                             f"{run.get('load_avg_1m', '—')} | {run.get('cpus', '—')} |")
        lines += ["", "Latency figures depend on the machine and on what else it runs: see the load average."]
    if chart:
        lines += ["", f"![Throughput and latency figures]({chart})"]
    return "\n".join(lines) + "\n"


def _panel(unit: str) -> tuple[int, str]:
    """Which chart panel a unit belongs to (order, title); order -1: not charted."""
    if unit.endswith(THROUGHPUT_UNITS):
        return 0, "Throughput"
    if unit == "share":
        return 1, "Share of a budget"
    if unit in LATENCY_UNITS:
        return 2, "Latency"
    return -1, ""


def chart_rows(results: dict[str, Any]) -> list[Row]:
    """The figures the chart shows: throughputs, budget shares and latencies with a numeric value."""
    return [r for r in rows(results) if isinstance(r.value, int | float) and not isinstance(r.value, bool)
            and _panel(r.unit)[0] >= 0]


def write_chart(results: dict[str, Any], path: Path) -> None:
    """A PNG with one horizontal bar panel per unit; bars green if the goal is met, red if not, grey if none."""
    import matplotlib

    matplotlib.use("Agg")  # no display: CI and servers
    import matplotlib.pyplot as plt

    chosen = chart_rows(results)
    units = sorted({r.unit for r in chosen}, key=lambda u: (_panel(u)[0], u))
    counts = [sum(r.unit == u for r in chosen) for u in units]
    height = 0.6 + sum(0.5 * n + 0.9 for n in counts)
    fig, axes = plt.subplots(max(1, len(units)), 1, squeeze=False, figsize=(10, height),
                             gridspec_kw={"height_ratios": [n + 1 for n in counts] or [1]})
    if not units:
        axes[0][0].text(0.5, 0.5, "no throughput or latency figures", ha="center", va="center")
        axes[0][0].set_axis_off()
    for ax, unit in zip((a[0] for a in axes), units, strict=False):
        panel = [r for r in chosen if r.unit == unit]
        values = [float(r.value) for r in panel]
        colours = ["#2e7d32" if r.met else "#c62828" if r.met is False else "#90a4ae" for r in panel]
        ax.barh([f"{r.name}\n({r.bench})" for r in panel], values, color=colours, height=0.6)
        for i, r in enumerate(panel):
            ax.annotate(_number(r.value, unit), (values[i], i), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8)
            if r.goal_value is not None:
                ax.plot([r.goal_value] * 2, [i - 0.4, i + 0.4], color="black", linestyle="--", linewidth=1.5)
        positive = [v for v in values + [r.goal_value for r in panel if r.goal_value] if v and v > 0]
        if positive and max(positive) / min(positive) > 30:
            ax.set_xscale("log")  # a 6 s table scan next to 50 ms pages: both readable
        ax.margins(x=0.15)
        ax.invert_yaxis()
        ax.tick_params(axis="y", labelsize=8)
        goal_note = "  (dashed: goal; green met, red missed, grey no goal)" if any(
            r.goal_value is not None for r in panel) else ""
        ax.set_xlabel(unit + goal_note, fontsize=8)
        ax.set_title(_panel(unit)[1], loc="left", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def write_report(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """report.md and report.png in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md, png = out_dir / "report.md", out_dir / "report.png"
    write_chart(results, png)
    md.write_text(markdown(results, chart=png.name))
    return md, png
