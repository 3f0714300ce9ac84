"""Benchmark: orchestrations/second through devhost for N instances of a five-activity orchestration.

Prints JSON: completed orchestrations per second and the devhost process's peak RSS (also as ``figures``).
Usage: python bench/devhost_throughput.py [--instances 1000] [--state FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._figures import figure
from devhost.testing import DevHostProcess

APP = textwrap.dedent("""
    import azure.durable_functions as df

    app = df.DFApp()

    @app.activity_trigger(input_name="value")
    def noop(value):
        return value

    @app.orchestration_trigger(context_name="context")
    def five_steps(context):
        value = context.get_input()
        for _ in range(5):
            value = yield context.call_activity("noop", value)
        return value
""")


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--state", default=None, help="use the SQLite store at this path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = Path(tmp) / "app"
        app_dir.mkdir()
        (app_dir / "function_app.py").write_text(APP)
        proc = DevHostProcess(app_dir, state_file=args.state, extra_args=["--log-level", "WARNING"])
        proc.start()
        try:
            client = proc.client
            t0 = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: client.start("five_steps", i), range(args.instances)))
            started = time.perf_counter()
            while client.stats()["orchestrations_completed"] < args.instances:
                if time.perf_counter() - t0 > 600:
                    raise SystemExit("timed out")
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            stats = client.stats()
            assert proc.pid is not None
            result = {
                "instances": args.instances,
                "activities_per_orchestration": 5,
                "store": "sqlite" if args.state else "memory",
                "seconds": round(elapsed, 3),
                "start_requests_seconds": round(started - t0, 3),
                "orchestrations_per_second": round(args.instances / elapsed, 1),
                "activity_executions": stats["activity_executions_total"],
                "orchestrator_episodes": stats["orchestrator_episodes"],
                "peak_rss_mb": round(_peak_rss_kb(proc.pid) / 1024, 1),
            }
            result["figures"] = [
                figure("orchestrations per second (5 activities each)", result["orchestrations_per_second"],
                       "orchestrations/s"),
                figure("devhost peak RSS", result["peak_rss_mb"], "MB"),
            ]
        finally:
            proc.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
