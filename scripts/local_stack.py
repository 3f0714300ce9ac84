"""`make run`: Azurite, the HubSpot and Xero simulators with demo data, and the app on devhost, until Ctrl-C.

Every process listens on loopback only. Azurite always runs with ``--disableTelemetry``: without it,
it reports usage to the internet, and nothing this project runs may leave the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PORTS = {"blob": 10000, "queue": 10001, "table": 10002, "hubspot": 8081, "xero": 8082, "app": 7071}


def log(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def port_busy(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


def start(
    name: str, cmd: list[str], ready: str | None, env: dict[str, str], timeout: float = 60
) -> subprocess.Popen[str]:
    log(f"starting {name}")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=None, text=True,
                            start_new_session=True)
    if ready is None:
        return proc
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with code {proc.returncode} before it was ready")
            continue
        if line.startswith(ready):
            log(line.strip())
            return proc
    raise RuntimeError(f"{name} did not say {ready!r} within {timeout}s")


def main() -> int:
    procs: list[tuple[str, subprocess.Popen[str]]] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    busy = [f"{name} ({port})" for name, port in PORTS.items() if port_busy(port)]
    if busy:
        log(f"ports already in use: {', '.join(busy)}; stop whatever holds them (an earlier `make run`?)")
        return 1
    try:
        # The simulators start from their demo data every time; the app's state (task hub, ledger,
        # devhost history) starts fresh too, so that both sides of the demo tell the same story.
        azurite_dir = REPO / ".azurite"
        shutil.rmtree(azurite_dir, ignore_errors=True)
        shutil.rmtree(REPO / ".run", ignore_errors=True)
        azurite_dir.mkdir(exist_ok=True)
        procs.append(("azurite", start("azurite", [
            str(REPO / "node_modules/.bin/azurite"), "--silent", "--disableTelemetry", "--skipApiVersionCheck",
            "--loose", "--location", str(azurite_dir),
            "--blobHost", HOST, "--blobPort", str(PORTS["blob"]),
            "--queueHost", HOST, "--queuePort", str(PORTS["queue"]),
            "--tableHost", HOST, "--tablePort", str(PORTS["table"]),
        ], None, env)))
        missing: list[str] = []
        if (REPO / "simulators" / "__main__.py").exists():
            procs.append(("simulators", start("simulators", [
                sys.executable, "-m", "simulators", "--host", HOST, "--hubspot-port", str(PORTS["hubspot"]),
                "--xero-port", str(PORTS["xero"]), "--seed", "demo",
            ], "simulators ready", env)))
        else:
            missing.append("the HubSpot and Xero simulators (simulators/)")
        if (REPO / "devhost" / "__main__.py").exists():
            (REPO / ".run").mkdir(exist_ok=True)
            procs.append(("devhost", start("devhost", [
                sys.executable, "-m", "devhost", "--app-dir", str(REPO), "--host", HOST,
                "--port", str(PORTS["app"]), "--state", str(REPO / ".run" / "devhost.sqlite"),
            ], "devhost ready", env)))
        else:
            missing.append("devhost, the local Functions host (devhost/)")
        if missing:
            log("not started yet, because it does not exist yet: " + "; ".join(missing))
        else:
            wire_demo()
        log(f"running: {', '.join(n for n, _ in procs)}. Press Ctrl-C to stop.")
        while all(p.poll() is None for _, p in procs):
            time.sleep(0.5)
        dead = [n for n, p in procs if p.poll() is not None]
        log(f"stopped unexpectedly: {', '.join(dead)}")
        return 1
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        for _, p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for name, p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in time; killing it")
                os.killpg(p.pid, signal.SIGKILL)


def demo_values() -> dict[str, str]:
    """The settings the app runs with in the demo: the sample file's, overridden by the environment."""
    return {**json.loads((REPO / "local.settings.sample.json").read_text())["Values"], **os.environ}


def wire_demo(app: str = f"http://{HOST}:{PORTS['app']}", hubspot: str = f"http://{HOST}:{PORTS['hubspot']}",
              xero: str = f"http://{HOST}:{PORTS['xero']}", values: dict[str, str] | None = None) -> None:
    """Point the simulators' webhooks at the app, and start a first sync of the demo deals.

    The Xero simulator is the app's organisation: its events name the app's ``XERO_TENANT_ID`` (the app
    ignores other tenants' events, so without it a paid invoice would never reach the deal).
    """
    values = values or demo_values()
    try:
        post(f"{hubspot}/_sim/webhooks", {"url": f"{app}/api/webhooks/hubspot", "secret": values["HUBSPOT_APP_SECRET"]})
        post(f"{xero}/_sim/config", {"tenant_ids": [values["XERO_TENANT_ID"]]})
        post(f"{xero}/_sim/webhooks", {"url": f"{app}/api/webhooks/xero", "key": values["XERO_WEBHOOK_KEY"]})
        post(f"{app}/api/sync", {})
        log("demo: webhooks wired (HubSpot and Xero simulators → app), first sync of the demo deals started")
    except (OSError, urllib.error.HTTPError) as exc:
        log(f"demo wiring failed: {exc}")
    log(f"status page: {app}/api/status   API: {app}/api/transactions   health: {app}/api/health")
    log(f"simulators: HubSpot {hubspot}/_sim/state  Xero {xero}/_sim/state")
    log(f"pay an invoice (its deal is marked paid): curl -X POST {xero}/_sim/xero/invoices/<InvoiceID>/pay")


def post(url: str, payload: object) -> None:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:  # loopback URLs built above
        response.read()

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
