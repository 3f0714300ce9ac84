"""pytest fixtures for devhost (import them in a conftest: `from devhost.pytest_plugin import *`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from devhost.testing import DevHostClient, DevHostProcess, InProcessDevHost

__all__ = ["DevHostClient", "devhost_inprocess_factory", "devhost_process_factory", "started_hosts"]


class _Host(Protocol):
    def start(self) -> str: ...


def started_hosts[H: _Host](kind: Callable[..., H], stop: Callable[[H], None]) -> Iterator[Callable[..., H]]:
    """A factory `make(app_dir, **kwargs)` that starts `kind(app_dir, **kwargs)`; every host it made is stopped
    with `stop` once the caller resumes the iterator (a fixture's teardown)."""
    made: list[H] = []

    def make(app_dir: str | Path, **kwargs: Any) -> H:
        host = kind(app_dir, **kwargs)
        made.append(host)
        host.start()
        return host

    yield make
    for host in made:
        stop(host)


@pytest.fixture
def devhost_process_factory() -> Iterator[Callable[..., DevHostProcess]]:
    """`make(app_dir, *, settings_env=None, state_file=None, clock=None, ...)` → a started DevHostProcess.
    Every process it made is stopped (SIGTERM, then SIGKILL) at teardown."""
    yield from started_hosts(DevHostProcess, DevHostProcess.close)


@pytest.fixture
def devhost_inprocess_factory() -> Iterator[Callable[..., InProcessDevHost]]:
    """`make(app_dir, *, settings_env=None, state_file=None, clock=None, ...)` → a started InProcessDevHost."""
    yield from started_hosts(InProcessDevHost, InProcessDevHost.stop)
