"""The figures each reliability test prints; ``conftest.py`` repeats them in pytest's terminal summary."""

from __future__ import annotations

PREFIX = "reliability "
FIGURES: list[str] = []


def report(line: str) -> None:
    """Print one line of figures (shown with the test's output). The terminal summary collects it from the
    test's captured output, so that it reaches the summary from pytest-xdist's workers too."""
    assert line.startswith(PREFIX), line
    print(line)


def collect(captured_stdout: str) -> None:
    """Keep the figure lines of one test's captured output for the summary."""
    FIGURES.extend(line for line in captured_stdout.splitlines() if line.startswith(PREFIX))
