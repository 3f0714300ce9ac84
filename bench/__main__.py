"""`make bench`: run every bench/*.py, one after another, and collect their JSON in bench/results/latest.json."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _json_of(stdout: str) -> object | None:
    """The bench's JSON: its whole output, or else its last line (a bench may print progress first)."""
    for candidate in (stdout.strip(), (stdout.strip().splitlines() or [""])[-1]):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def main() -> int:
    results: dict[str, object] = {}
    failed = []
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_"):
            continue
        print(f"[bench] {script.name}", flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True,
                              timeout=1800, check=False, env=None)
        elapsed = round(time.monotonic() - started, 1)
        figures = _json_of(done.stdout) if done.returncode == 0 else None
        if figures is None:
            failed.append(script.name)
            results[script.stem] = {"error": (done.stderr or done.stdout)[-2000:], "seconds": elapsed}
        else:
            results[script.stem] = figures
        print(json.dumps(results[script.stem], indent=2), flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"[bench] wrote {out / 'latest.json'}; failed: {failed or 'none'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
