"""Test helpers: start/stop devhost as a subprocess or in-process on free loopback ports (client: `devhost.client`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from devhost.client import DURABLE, TERMINAL, DevHostClient, DevHostError
from devhost.server import DevHost
from devhost.settings import apply_settings, find_settings_file

__all__ = ["DURABLE", "TERMINAL", "DevHostClient", "DevHostError", "DevHostProcess", "InProcessDevHost"]

_REPO_ROOT = Path(__file__).resolve().parent.parent


class DevHostProcess:
    """devhost as a subprocess: `start()` waits for the ready line and returns the base URL; `kill()` sends
    SIGKILL; `stop()` sends SIGTERM; `restart()` starts again on the same port and state file."""

    def __init__(
        self,
        app_dir: str | Path,
        *,
        settings_env: dict[str, str] | None = None,
        state_file: str | Path | None = None,
        clock: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        settings_file: str | Path | None = None,
        extra_args: list[str] | None = None,
        python: str | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self.app_dir = Path(app_dir)
        self.settings_env = dict(settings_env or {})
        self.state_file = str(state_file) if state_file else None
        self.clock = clock
        self.port = port
        self.host = host
        self.settings_file = str(settings_file) if settings_file else None
        self.extra_args = list(extra_args or [])
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.base_url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        # Kept open for the subprocess's whole life (and across restarts), so no context manager.
        self._stderr = tempfile.NamedTemporaryFile(prefix="devhost-", suffix=".log", delete=False)  # noqa: SIM115
        self._stdout_lines: list[str] = []

    @property
    def client(self) -> DevHostClient:
        return DevHostClient(self.base_url)

    def command(self) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "devhost",
            "--app-dir",
            str(self.app_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.state_file:
            cmd += ["--state", self.state_file]
        if self.clock:
            cmd += ["--clock", self.clock]
        if self.settings_file:
            cmd += ["--settings", self.settings_file]
        return cmd + self.extra_args

    def start(self) -> str:
        if self.proc is not None and self.proc.poll() is None:
            raise DevHostError("already running")
        env = dict(os.environ)
        env.update(self.settings_env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH", "")]))
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(_REPO_ROOT),
        )
        assert self.proc.stdout is not None
        line = self._read_ready_line(self.proc)
        self.base_url = line.split(" ", 2)[2].strip()
        self.port = int(self.base_url.rsplit(":", 1)[1])  # a restart reuses the port
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        return self.base_url

    def _read_ready_line(self, proc: subprocess.Popen[bytes]) -> str:
        assert proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.startup_timeout
        buf = b""
        try:
            while time.monotonic() < deadline:
                if not sel.select(timeout=0.1):
                    if proc.poll() is not None:
                        break
                    continue
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    text = raw.decode("utf-8", "replace")
                    if text.startswith("devhost ready "):
                        return text
                    self._stdout_lines.append(text)
        finally:
            sel.close()
        self.kill()
        raise DevHostError(f"devhost did not become ready; stderr:\n{self.stderr_text()[-4000:]}")

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            self._stdout_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def stderr_text(self) -> str:
        return Path(self._stderr.name).read_text(encoding="utf-8", errors="replace")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed beyond what the store already committed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    def restart(self) -> str:
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        self._stderr.close()
        with contextlib.suppress(OSError):
            os.unlink(self._stderr.name)

    def __enter__(self) -> DevHostProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessDevHost:
    """devhost on a background thread with its own event loop (fast; one at a time per process, because the
    SDK's aiohttp client session is process-global). Settings are applied to os.environ and restored."""

    def __init__(
        self,
        app_dir: str | Path,
        *,
        settings_env: dict[str, str] | None = None,
        state_file: str | Path | None = None,
        clock: str | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        settings_file: str | Path | None = None,
        max_activities: int | None = None,
    ) -> None:
        self.app_dir = Path(app_dir)
        self.settings_env = dict(settings_env or {})
        self.settings_file = settings_file
        self.host = DevHost(
            self.app_dir,
            host=host,
            port=port,
            state_file=str(state_file) if state_file else None,
            clock=clock,
            max_activities=max_activities,
        )
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def client(self) -> DevHostClient:
        return DevHostClient(self.base_url)

    def start(self, timeout: float = 30.0) -> str:
        for key, value in self.settings_env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        before = dict(os.environ)
        applied = apply_settings(
            find_settings_file(self.app_dir, str(self.settings_file) if self.settings_file else None)
        )
        for key in applied:
            self._saved_env.setdefault(key, before.get(key))
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self.base_url = loop.run_until_complete(self.host.start())
            except BaseException as exc:  # surfaced to the caller of start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="devhost-inprocess", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or errors:
            self._restore_env()
            raise DevHostError(f"in-process devhost failed to start: {errors[0] if errors else 'timeout'}")
        return self.base_url

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self.host.stop(), loop)
            try:
                fut.result(timeout=15)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=15)
        loop.close()
        self._loop = self._thread = None
        self._restore_env()

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    def __enter__(self) -> InProcessDevHost:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
