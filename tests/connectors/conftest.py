"""Fixtures: the simulators, connectors pointed at them, and a Xero spec check of every exchange."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.connectors.hubspot import HubSpotClient
from shared.connectors.xero import XeroClient
from simulators.testing import SimulatorsProcess
from simulators.testing import sims as sims  # noqa: PLC0414 - re-exported fixture
from simulators.testing import simulators as simulators  # noqa: PLC0414 - re-exported fixture
from tests.support.xero_spec import XeroSpecValidator, spec_problems, xero_spec_validator

HUBSPOT_TOKEN = "pat-test-token"
XERO_CLIENT_ID = "test-client-id"
XERO_CLIENT_SECRET = "test-client-secret"
TENANT = "8a4f1d2c-0b7e-4c3a-9e5f-1d2c3b4a5f60"


@pytest.fixture(scope="session")
def xero_spec() -> XeroSpecValidator:
    """For the tests of the spec check itself: they skip (fail in CI) without the spec."""
    return xero_spec_validator()


@pytest.fixture
def hub_sim(sims: SimulatorsProcess) -> SimulatorsProcess:
    sims.hubspot.config(access_token=HUBSPOT_TOKEN)
    return sims


@pytest.fixture
def hubspot(hub_sim: SimulatorsProcess) -> Iterator[HubSpotClient]:
    with HubSpotClient(hub_sim.hubspot_url, HUBSPOT_TOKEN, timeout=10.0) as client:
        yield client


def make_xero(sims: SimulatorsProcess, **kwargs: Any) -> XeroClient:
    return XeroClient(
        f"{sims.xero_url}/api.xro/2.0",
        f"{sims.xero_url}/connect/token",
        XERO_CLIENT_ID,
        XERO_CLIENT_SECRET,
        TENANT,
        timeout=10.0,
        **kwargs,
    )


@pytest.fixture
def xero_sim(sims: SimulatorsProcess) -> Iterator[SimulatorsProcess]:
    """The Xero simulator with credentials set; afterwards every exchange must match the official spec.

    Without the spec file the test still runs and only this check is left out (see ``spec_problems``).
    """
    sims.xero.config(client_id=XERO_CLIENT_ID, client_secret=XERO_CLIENT_SECRET)
    yield sims
    problems = spec_problems(sims.xero.requests())
    assert problems == [], "Xero traffic violates the official spec:\n" + "\n".join(problems)


@pytest.fixture
def xero(xero_sim: SimulatorsProcess) -> Iterator[XeroClient]:
    with make_xero(xero_sim) as client:
        yield client
