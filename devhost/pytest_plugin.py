"""pytest fixtures for devhost (import them in a conftest: `from devhost.pytest_plugin import *`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.testing import DevHostClient, DevHostProcess, InProcessDevHost

__all__ = ["DevHostClient", "devhost_inprocess_factory", "devhost_process_factory"]


@pytest.fixture
def devhost_process_factory() -> Iterator[Callable[..., DevHostProcess]]:
    """`make(app_dir, *, settings_env=None, state_file=None, clock=None, ...)` → a started DevHostProcess.
    Every process it made is stopped (SIGTERM, then SIGKILL) at teardown."""
    made: list[DevHostProcess] = []

    def make(app_dir: str | Path, **kwargs: Any) -> DevHostProcess:
        proc = DevHostProcess(app_dir, **kwargs)
        made.append(proc)
        proc.start()
        return proc

    yield make
    for proc in made:
        proc.close()


@pytest.fixture
def devhost_inprocess_factory() -> Iterator[Callable[..., InProcessDevHost]]:
    """`make(app_dir, *, settings_env=None, state_file=None, clock=None, ...)` → a started InProcessDevHost."""
    made: list[InProcessDevHost] = []

    def make(app_dir: str | Path, **kwargs: Any) -> InProcessDevHost:
        host = InProcessDevHost(app_dir, **kwargs)
        made.append(host)
        host.start()
        return host

    yield make
    for host in made:
        host.stop()
