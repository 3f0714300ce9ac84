"""The figures each reliability test prints; ``conftest.py`` repeats them in pytest's terminal summary."""

from __future__ import annotations

FIGURES: list[str] = []


def report(line: str) -> None:
    """Print one line of figures (shown with the test's output) and keep it for the terminal summary."""
    print(line)
    FIGURES.append(line)
