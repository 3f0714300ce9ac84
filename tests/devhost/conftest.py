"""Fixtures for the devhost conformance suite: one in-process devhost (virtual clock) per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from devhost.pytest_plugin import devhost_inprocess_factory, devhost_process_factory  # noqa: E402,F401
from devhost.testing import DevHostClient, InProcessDevHost  # noqa: E402

APP_DIR = Path(__file__).resolve().parent / "apps" / "conformance"


@pytest.fixture(scope="module")
def side_effect_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("effects") / "side_effects.log"


@pytest.fixture(scope="module")
def host(side_effect_file: Path) -> Iterator[InProcessDevHost]:
    h = InProcessDevHost(APP_DIR, clock="virtual", settings_env={"CONFORMANCE_SIDE_EFFECT_FILE": str(side_effect_file)})
    h.start()
    yield h
    h.stop()


@pytest.fixture
def client(host: InProcessDevHost) -> Iterator[DevHostClient]:
    c = host.client
    yield c
    c.clear_faults()
    c.clock(auto_advance=True)
