"""Fixtures for the devhost conformance suite: one in-process devhost (virtual clock) per test module.

`devhost_process_factory` and `devhost_inprocess_factory` come from `devhost.pytest_plugin`, which the
top-level conftest registers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.testing import DevHostClient, InProcessDevHost

APP_DIR = Path(__file__).resolve().parent / "apps" / "conformance"


@pytest.fixture(scope="module")
def side_effect_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("effects") / "side_effects.log"


@pytest.fixture(scope="module")
def host(side_effect_file: Path) -> Iterator[InProcessDevHost]:
    settings = {"CONFORMANCE_SIDE_EFFECT_FILE": str(side_effect_file)}
    with InProcessDevHost(APP_DIR, clock="virtual", settings_env=settings) as h:
        yield h


@pytest.fixture
def client(host: InProcessDevHost) -> Iterator[DevHostClient]:
    c = host.client
    yield c
    c.clear_faults()
    c.clock(auto_advance=True)
