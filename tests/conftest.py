"""Session-wide fixtures: real services on free loopback ports, started on demand and stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.figures import FIGURES, collect
from tests.support.azurite import Azurite, start_azurite

# Fixtures of the project's own local services: `simulators`/`sims`, `devhost_process_factory`.
pytest_plugins = ["simulators.testing", "devhost.pytest_plugin"]


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A real Azurite for the whole session (only started if a test asks for it)."""
    instance = start_azurite()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def app_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The sample settings in the environment, with the settings and client caches reset around the test."""
    from shared import composition
    from shared.config import reset_settings
    from tests.support.settings import sample_settings

    values = sample_settings()
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    composition.reset()
    yield values
    reset_settings()
    composition.reset()


def _weight(item: pytest.Item) -> int:
    path = item.path.as_posix()
    return 0 if "/tests/reliability/" in path else 1 if "/tests/e2e/" in path else 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long files first (reliability, then end-to-end), the quick ones after: under pytest-xdist, whose
    workers take files in this order, no long file starts last and leaves one worker running alone."""
    items.sort(key=_weight)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Here, not in tests/reliability/conftest.py: under pytest-xdist the reports arrive in the controller,
    # which loads only this conftest. A reliability test's figures line is in its captured output.
    if report.when == "call" and report.nodeid.startswith("tests/reliability/"):
        collect(report.capstdout)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
