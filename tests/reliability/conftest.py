"""Reliability suite (issue #8): the unmodified app on devhost, real Azurite, the simulators over HTTP.

Each module starts its own devhost (``stack_host``) with the settings its scenario needs, and reuses the
end-to-end fixtures (``stack``, ``fresh_stack``): simulators reset, app properties created in HubSpot,
HubSpot ids that no earlier test on the same host used. Every test prints one line of figures; they are
repeated at the end of pytest's output under "reliability figures".
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import fresh_stack, stack  # noqa: F401 - fixtures shared with the end-to-end tests
from tests.reliability.figures import FIGURES, collect


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs where the reports arrive: in the one process, or in pytest-xdist's controller for every worker.
    if report.when == "call" and report.nodeid.startswith("tests/reliability/"):
        collect(report.capstdout)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
