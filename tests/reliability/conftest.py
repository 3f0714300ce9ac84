"""Reliability suite (issue #8): the unmodified app on devhost, real Azurite, the simulators over HTTP.

Each module starts its own devhost (``stack_host``) with the settings its scenario needs, and reuses the
end-to-end fixtures (``stack``, ``fresh_stack``): simulators reset, app properties created in HubSpot,
HubSpot ids that no earlier test on the same host used. Every test prints one line of figures; they are
repeated at the end of pytest's output under "reliability figures" (by the hooks in ``tests/conftest.py``:
pytest-xdist's controller, which writes the summary, loads no conftest below the test paths).
"""

from __future__ import annotations

from tests.e2e.conftest import fresh_stack, stack  # noqa: F401 - fixtures shared with the end-to-end tests
