"""A small synchronous client (stdlib only) for devhost's durable HTTP API and its admin API."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DURABLE = "/runtime/webhooks/durabletask"
TERMINAL = ("Completed", "Failed", "Terminated", "Canceled")


class DevHostError(RuntimeError):
    pass


class DevHostClient:
    """Synchronous HTTP client for the durable API and the admin API (stdlib only)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        """Returns (status, headers, parsed JSON body or None when empty, or text when not JSON)."""
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers or {})  # noqa: S310
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        if not req.full_url.startswith(("http://", "https://")):
            raise ValueError("only http(s) URLs are supported")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - scheme checked above
                status, hdrs, raw = resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            status, hdrs, raw = err.code, dict(err.headers.items()), err.read()
        if not raw:
            return status, hdrs, None
        try:
            return status, hdrs, json.loads(raw)
        except ValueError:
            return status, hdrs, raw.decode("utf-8", "replace")

    # ----- durable API (bodies encoded exactly as the Python SDK client encodes them, §1) ---------------

    def start(self, name: str, input: Any = None, instance_id: str | None = None) -> str:
        path = f"{DURABLE}/orchestrators/{name}" + (f"/{instance_id}" if instance_id else "")
        body = json.dumps(json.dumps(input)) if input is not None else None
        status, _, payload = self.request("POST", path, body)
        if status != 202:
            raise DevHostError(f"start {name} failed: {status} {payload}")
        return str(payload["id"])

    def status(
        self, instance_id: str, show_history: bool = False, show_input: bool = True, show_history_output: bool = False
    ) -> dict[str, Any] | None:
        q = urllib.parse.urlencode(
            {"showHistory": show_history, "showInput": show_input, "showHistoryOutput": show_history_output}
        )
        status, _, payload = self.request("GET", f"{DURABLE}/instances/{instance_id}?{q}")
        if status == 404:
            return None
        return dict(payload)

    def wait(
        self, instance_id: str, timeout: float = 15.0, statuses: tuple[str, ...] = TERMINAL, interval: float = 0.01
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            last = self.status(instance_id)
            if last is not None and last["runtimeStatus"] in statuses:
                return last
            time.sleep(interval)
        raise DevHostError(f"instance {instance_id} did not reach {statuses} in {timeout}s; last status {last}")

    def raise_event(self, instance_id: str, name: str, data: Any = None) -> int:
        body = json.dumps(json.dumps(data))
        return self.request("POST", f"{DURABLE}/instances/{instance_id}/raiseEvent/{name}", body)[0]

    def terminate(self, instance_id: str, reason: str = "terminated by test") -> int:
        q = urllib.parse.quote(reason)
        return self.request("POST", f"{DURABLE}/instances/{instance_id}/terminate?reason={q}")[0]

    def suspend(self, instance_id: str, reason: str = "") -> int:
        return self.request("POST", f"{DURABLE}/instances/{instance_id}/suspend?reason={urllib.parse.quote(reason)}")[0]

    def resume(self, instance_id: str, reason: str = "") -> int:
        return self.request("POST", f"{DURABLE}/instances/{instance_id}/resume?reason={urllib.parse.quote(reason)}")[0]

    def purge(self, instance_id: str) -> int:
        return self.request("DELETE", f"{DURABLE}/instances/{instance_id}")[0]

    def signal_entity(self, name: str, key: str, op: str, input: Any = None) -> int:
        body = json.dumps(json.dumps(input)) if input else None
        return self.request("POST", f"{DURABLE}/entities/{name}/{key}?op={urllib.parse.quote(op)}", body)[0]

    def read_entity(self, name: str, key: str) -> tuple[bool, Any]:
        status, _, payload = self.request("GET", f"{DURABLE}/entities/{name}/{key}")
        return (status == 200), payload

    # ----- admin API -------------------------------------------------------------------------------------

    def invoke_function(self, name: str, input: str = "") -> int:
        """`POST /admin/functions/{name}` (run a timer function now, as Core Tools does); returns the status
        code: 202 once started (it does not wait for the function), 404 unknown name, 400 not invokable."""
        path = f"/admin/functions/{urllib.parse.quote(name, safe='')}"
        return self.request("POST", path, json.dumps({"input": input}))[0]

    def add_fault(self, activity: str, mode: str, times: int = 1, delay_ms: int = 0, skip: int = 0,
                  input_contains: str = "") -> None:
        """``skip``: let that many executions of the activity through before the rule applies;
        ``input_contains``: only executions whose input's compact JSON text contains it."""
        body = json.dumps({"activity": activity, "mode": mode, "times": times, "delay_ms": delay_ms, "skip": skip,
                           "input_contains": input_contains})
        status, _, payload = self.request("POST", "/_devhost/faults", body)
        if status != 201:
            raise DevHostError(f"adding fault failed: {status} {payload}")

    def faults(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/_devhost/faults")[2])

    def clear_faults(self) -> None:
        self.request("DELETE", "/_devhost/faults")

    def stats(self) -> dict[str, Any]:
        return dict(self.request("GET", "/_devhost/stats")[2])

    def health(self) -> dict[str, Any]:
        return dict(self.request("GET", "/_devhost/health")[2])

    def clock(self, **changes: Any) -> dict[str, Any]:
        """`clock()` reads; `clock(auto_advance=False)` freezes virtual jumps; `clock(advance_ms=N)` jumps."""
        if not changes:
            return dict(self.request("GET", "/_devhost/clock")[2])
        status, _, payload = self.request("POST", "/_devhost/clock", json.dumps(changes))
        if status != 200:
            raise DevHostError(f"clock change failed: {status} {payload}")
        return dict(payload)
