"""`make bench`: run the bench/*.py scripts, collect their JSON in bench/results/latest.json, render the report."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import write_report

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
LATEST = RESULTS / "latest.json"
NOT_BENCHES = {"report"}  # modules of bench/ that are not benchmarks
USAGE = """
  python -m bench                       every bench, then report.md and report.png
  python -m bench webhook_latency ...   only these; the other benches' previous figures are kept
  python -m bench --report-only         re-render the report from latest.json, running nothing
"""


def _json_of(stdout: str) -> object | None:
    """The bench's JSON: its whole output, or else its last line (a bench may print progress first)."""
    for candidate in (stdout.strip(), (stdout.strip().splitlines() or [""])[-1]):
        try:
            parsed: object = json.loads(candidate)
        except ValueError:
            continue
        return parsed
    return None


def benches() -> dict[str, Path]:
    return {p.stem: p for p in sorted(HERE.glob("*.py")) if not p.name.startswith("_") and p.stem not in NOT_BENCHES}


def _load() -> dict[str, Any]:
    if not LATEST.is_file():
        return {}
    loaded = json.loads(LATEST.read_text())
    return loaded if isinstance(loaded, dict) else {}


def _save(results: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    # Sorted: the order of a full run, whichever subset ran last ("_runs" sorts first).
    LATEST.write_text(json.dumps({k: results[k] for k in sorted(results)}, indent=2) + "\n")


def run(script: Path) -> tuple[bool, object, dict[str, Any]]:
    """One bench in its own interpreter: (ok, its JSON or an error object, when and how long it ran)."""
    run_info = {"at": datetime.now(UTC).isoformat(timespec="seconds"),
                "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True,
                          timeout=1800, check=False, env=None)
    run_info["seconds"] = round(time.monotonic() - started, 1)
    figures = _json_of(done.stdout) if done.returncode == 0 else None
    if figures is None:
        return False, {"error": (done.stderr or done.stdout)[-2000:], "seconds": run_info["seconds"]}, run_info
    return True, figures, run_info


def main(argv: list[str] | None = None) -> int:
    known = benches()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__, epilog=USAGE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benches to run (default: all): {', '.join(known)}")
    parser.add_argument("--report-only", action="store_true", help="render the report from latest.json")
    args = parser.parse_args(argv)
    names = [n.removesuffix(".py") for n in args.names]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)} (known: {', '.join(known)})")
    if args.report_only and names:
        parser.error("--report-only runs no bench: give no names")

    # A subset updates the previous results; a full run starts afresh (benches since removed drop out).
    results = _load() if names or args.report_only else {}
    if args.report_only and not results:
        print(f"[bench] no results in {LATEST}: run `make bench` first", file=sys.stderr)
        return 1
    failed = []
    for name in [] if args.report_only else names or list(known):
        print(f"[bench] {name}", flush=True)
        ok, output, run_info = run(known[name])
        if not ok:
            failed.append(name)
        results[name] = output
        results.setdefault("_runs", {})[name] = run_info
        print(json.dumps(output, indent=2), flush=True)
        _save(results)  # after each bench: a later crash keeps what was measured
    md, png = write_report(_load(), RESULTS)  # as saved: the report and latest.json agree
    print(f"[bench] wrote {LATEST}, {md}, {png}; failed: {failed or 'none'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
