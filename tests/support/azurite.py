"""Start and stop a real Azurite (Azure Storage emulator) on free loopback ports for tests and benches."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft): not a secret.
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary() -> str:
    local = REPO / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    found = shutil.which("azurite")
    if found:
        return found
    raise RuntimeError("Azurite is not installed: run `npm ci` (make test does it for you)")


@dataclass
class Azurite:
    blob_port: int
    queue_port: int
    table_port: int
    process: subprocess.Popen[bytes]
    workdir: str
    persistent: bool = False  # data on disk in ``workdir``: it outlives a stop, so an outage can end

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.blob_port}/{ACCOUNT};"
            f"QueueEndpoint=http://127.0.0.1:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint=http://127.0.0.1:{self.table_port}/{ACCOUNT};"
        )

    def _terminate(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def go_down(self) -> None:
        """A storage outage: the emulator stops (every call is refused); its data stays on disk."""
        if not self.persistent:
            raise RuntimeError("an in-memory Azurite loses its data when stopped: start it with persistent=True")
        self._terminate()

    def come_back(self) -> None:
        """The outage ends: the same ports, the same data."""
        self.process = _spawn(self.blob_port, self.queue_port, self.table_port, self.workdir, self.persistent)

    def stop(self) -> None:
        self._terminate()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _spawn(blob: int, queue: int, table: int, workdir: str, persistent: bool) -> subprocess.Popen[bytes]:
    storage = ["--location", workdir] if persistent else ["--inMemoryPersistence"]
    cmd = [
        azurite_binary(), "--silent", *storage, "--disableTelemetry", "--skipApiVersionCheck", "--loose",
        "--blobHost", "127.0.0.1", "--blobPort", str(blob),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue),
        "--tableHost", "127.0.0.1", "--tablePort", str(table),
    ]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir,
                               env={k: v for k, v in os.environ.items() if k != "AZURITE_ACCOUNTS"})
    try:
        for port in (blob, queue, table):
            wait_for_port(port)
    except TimeoutError:
        process.kill()
        raise
    return process


def start_azurite(*, persistent: bool = False) -> Azurite:
    """A fresh Azurite, in memory unless ``persistent``. ``--disableTelemetry``: nothing the project runs may
    leave the loopback."""
    blob, queue, table = free_port(), free_port(), free_port()
    workdir = tempfile.mkdtemp(prefix="azurite-")
    return Azurite(blob, queue, table, _spawn(blob, queue, table, workdir, persistent), workdir, persistent)
