"""Start both simulators for tests: a subprocess on free loopback ports, admin helpers, pytest fixtures.

Fixtures (import them into a conftest: ``from simulators.testing import simulators, sims  # noqa: F401``):

- ``simulators`` (session scope): one ``SimulatorsProcess`` for the whole test session.
- ``sims`` (function scope): the same process, both simulators reset (data, faults, request log,
  config) before the test.

Outside pytest: ``with SimulatorsProcess() as sp: sp.hubspot_url, sp.xero_url, sp.xero.add_fault(...)``.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = ["SimAdmin", "SimulatorsProcess", "sims", "simulators"]

REPO_ROOT = Path(__file__).resolve().parent.parent
_READY = re.compile(r"^simulators ready hubspot=(\S+) xero=(\S+)$")


class SimAdmin:
    """The ``/_sim/`` admin API of one simulator."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._http = httpx.Client(base_url=base_url, timeout=30.0)

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self._http.request(method, path, json=json)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_sim/reset")

    def seed(self, name: str = "demo", **options: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/_sim/seed", {"name": name, **options})
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/_sim/state")
        return result

    def add_fault(
        self,
        path: str,
        status: int | None = None,
        *,
        method: str | None = None,
        times: int = 1,
        delay_ms: int = 0,
        body: Any = None,
        drop: bool = False,
        after: bool = False,
        headers: dict[str, str] | None = None,
        skip: int = 0,
        probability: float = 1.0,
        seed: int | None = None,
        min_elements: int = 0,
    ) -> None:
        self._call(
            "POST",
            "/_sim/faults",
            {
                "path": path,
                "status": status,
                "method": method,
                "times": times,
                "delay_ms": delay_ms,
                "body": body,
                "drop": drop,
                "after": after,
                "headers": headers or {},
                "skip": skip,
                "probability": probability,
                "seed": seed,
                "min_elements": min_elements,
            },
        )

    def clear_faults(self) -> None:
        self._call("DELETE", "/_sim/faults")

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"/_sim/requests?since={since}")["requests"]
        return result

    def clear_requests(self) -> None:
        self._call("DELETE", "/_sim/requests")

    def config(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = (
            self._call("POST", "/_sim/config", changes) if changes else self._call("GET", "/_sim/config")
        )
        return result

    def set_webhook(self, url: str, secret: str) -> None:
        """HubSpot: app secret; Xero: webhook key."""
        self._call("POST", "/_sim/webhooks", {"url": url, "secret": secret, "key": secret})

    def send_webhooks(self, events: list[dict[str, Any]], **target: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/_sim/webhooks/send", {"events": events, **target})
        return result

    # HubSpot only
    def subscribe(self, target_url: str, client_secret: str, **settings: Any) -> dict[str, Any]:
        """Install the app's webhook subscription (``simulators.hubspot.webhooks.Subscription`` fields)."""
        result: dict[str, Any] = self._call(
            "POST", "/_sim/webhooks/subscription",
            {"targetUrl": target_url, "clientSecret": client_secret, **settings})
        return result

    def unsubscribe(self) -> None:
        self._call("DELETE", "/_sim/webhooks/subscription")

    def webhook_deliveries(self) -> dict[str, Any]:
        """Each webhook POST made (``deliveries``: post, attempt, events, status, error) and what is still to go."""
        result: dict[str, Any] = self._call("GET", "/_sim/webhooks/deliveries")
        return result

    def flush_webhooks(self) -> int:
        """Send the pending webhook events now (held ones too); how many there were."""
        return int(self._call("POST", "/_sim/webhooks/flush")["flushed"])

    def paths(self) -> list[dict[str, Any]]:
        """Every (method, path, user_agent, count) HubSpot was sent since start (resets keep it)."""
        result: list[dict[str, Any]] = self._call("GET", "/_sim/hubspot/paths")["paths"]
        return result

    def clear_paths(self) -> None:
        self._call("DELETE", "/_sim/hubspot/paths")

    # Xero only
    def expire_tokens(self) -> None:
        self._call("POST", "/_sim/xero/expire-tokens")

    def pay_invoice(
        self,
        invoice_id: str,
        amount: str | None = None,
        date: str | None = None,
        wait_for_webhook: bool = False,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"wait_for_webhook": wait_for_webhook}
        if amount is not None:
            body["amount"] = amount
        if date is not None:
            body["date"] = date
        result: dict[str, Any] = self._call("POST", f"/_sim/xero/invoices/{invoice_id}/pay", body)
        return result

    def set_invoice_status(self, invoice_id: str, status: str, wait_for_webhook: bool = False) -> dict[str, Any]:
        """A person voids (``VOIDED``) or deletes (``DELETED``) the invoice in the Xero app."""
        result: dict[str, Any] = self._call("POST", f"/_sim/xero/invoices/{invoice_id}/status",
                                            {"status": status, "wait_for_webhook": wait_for_webhook})
        return result


class SimulatorsProcess:
    """``python -m simulators`` in a subprocess on free loopback ports (``start``/``stop`` or ``with``)."""

    def __init__(
        self, extra_args: Sequence[str] = (), host: str = "127.0.0.1", startup_timeout: float = 20.0
    ):
        self.extra_args = list(extra_args)
        self.host = host
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.hubspot_url = ""
        self.xero_url = ""
        self.hubspot: SimAdmin
        self.xero: SimAdmin

    def start(self) -> SimulatorsProcess:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        cmd = [
            sys.executable,
            "-m",
            "simulators",
            "--host",
            self.host,
            "--hubspot-port",
            "0",
            "--xero-port",
            "0",
            *self.extra_args,
        ]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=None, text=True
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None

        def pump() -> None:
            for line in stdout:
                lines.put(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()
        try:
            line = lines.get(timeout=self.startup_timeout)
        except queue.Empty:
            self.stop()
            raise RuntimeError("simulators did not report ready in time") from None
        match = _READY.match(line)
        if not match:
            self.stop()
            raise RuntimeError(f"unexpected first line from simulators: {line!r}")
        self.hubspot_url, self.xero_url = match.group(1), match.group(2)
        self.hubspot = SimAdmin(self.hubspot_url)
        self.xero = SimAdmin(self.xero_url)
        return self

    def reset(self) -> None:
        self.hubspot.reset()
        self.xero.reset()

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        for admin in (getattr(self, "hubspot", None), getattr(self, "xero", None)):
            if admin is not None:
                admin.close()
        self.process = None

    def __enter__(self) -> SimulatorsProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def simulators() -> Iterator[SimulatorsProcess]:
    """Both simulators in one subprocess for the whole session."""
    with SimulatorsProcess() as process:
        yield process


@pytest.fixture
def sims(simulators: SimulatorsProcess) -> SimulatorsProcess:
    """The session's simulators, reset to empty with default config before the test."""
    simulators.reset()
    return simulators
