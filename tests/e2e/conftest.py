"""End-to-end fixtures: the unmodified app on devhost, with real Azurite and the HubSpot and Xero simulators."""

from __future__ import annotations

import contextlib
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient

from devhost.testing import DevHostClient, DevHostProcess
from shared.connectors.hubspot import USER_AGENT, HubSpotClient
from shared.ledger.table_ledger import TableLedger
from simulators.testing import SimulatorsProcess
from tests.support.azurite import Azurite

REPO = Path(__file__).resolve().parents[2]
TOKEN = "e2e-hubspot-token"
POLICY = {"step_max_attempts": 5, "step_retry_first_seconds": 1, "step_retry_max_seconds": 30,
          "compensation_max_attempts": 4, "deadline_minutes": 60}


NUMERIC_VERSION = re.compile(r"/v\d+/")


def app_paths(sims: SimulatorsProcess) -> list[dict[str, Any]]:
    """What the app itself (its HubSpot connector) called on the HubSpot simulator, test helpers left out."""
    return [p for p in sims.hubspot.paths() if p["user_agent"] == USER_AGENT]


@pytest.fixture(scope="session", autouse=True)
def app_calls_only_date_based_hubspot_paths(simulators: SimulatorsProcess) -> Iterator[None]:
    """After the whole e2e session: every HubSpot request the app sent used a date-based path.

    HubSpot stops serving /crm/v4 on 2027-03-30 and /crm/v1-v3 in September 2027; the simulator
    refuses them already, and this check names any the app tried (a refusal the app absorbed too).
    """
    simulators.hubspot.clear_paths()
    yield
    sent = app_paths(simulators)
    numeric = sorted({f"{p['method']} {p['path']}" for p in sent if NUMERIC_VERSION.search(p["path"])})
    assert not numeric, f"the app called numeric-version HubSpot paths: {numeric[:20]}"


@dataclass
class Stack:
    host: DevHostProcess
    sims: SimulatorsProcess
    ledger: TableLedger
    settings: dict[str, str]

    @property
    def client(self) -> DevHostClient:
        return self.host.client

    def run_deal(self, deal_id: str, *, timeout: float = 60, **extra: Any) -> dict[str, Any]:
        """Start deal_sync for a deal as a trigger would, and wait for its terminal status."""
        tx = f"deal-{deal_id}"
        self.client.start("deal_sync", {"deal_id": deal_id, "trigger": "test", "policy": POLICY, **extra}, tx)
        return self.client.wait(tx, timeout=timeout)

    def ledger_rows(self, deal_id: str) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return self.ledger.query(now - timedelta(days=1), now + timedelta(hours=1), deal=deal_id).items


HostPair = tuple[DevHostProcess, dict[str, str]]


@pytest.fixture(scope="module")
def stack_host(azurite: Azurite, simulators: SimulatorsProcess) -> Iterator[HostPair]:
    """The app on devhost with the default settings; a module that needs others assigns its own
    (``stack_host = module_host(...)``)."""
    with app_host(azurite, simulators) as pair:
        yield pair


@contextlib.contextmanager
def app_host(azurite: Azurite, simulators: SimulatorsProcess, extra: dict[str, str] | None = None,
             **host_options: Any) -> Iterator[HostPair]:
    """The app on devhost (virtual clock), wired to this Azurite and these simulators, plus ``extra`` settings.

    ``host_options`` go to ``DevHostProcess`` (``clock=None`` for the real clock, ``state_file``, ``extra_args``).
    """
    settings = {
        "AzureWebJobsStorage": azurite.connection_string,
        "LEDGER_TABLE_NAME": "Ledger" + uuid.uuid4().hex[:10],
        "CUSTOMER_MAP_TABLE_NAME": "Customers" + uuid.uuid4().hex[:10],
        "BATCH_TABLE_NAME": "Batches" + uuid.uuid4().hex[:10],
        "HUBSPOT_BASE_URL": simulators.hubspot_url,
        "HUBSPOT_ACCESS_TOKEN": TOKEN,
        "XERO_BASE_URL": f"{simulators.xero_url}/api.xro/2.0",
        "XERO_TOKEN_URL": f"{simulators.xero_url}/connect/token",
        "SYNC_SCHEDULE": "0 0 0 1 1 *",  # the schedules stay out of the way of these tests
        "PURGE_SCHEDULE": "0 0 0 1 1 *",
        **(extra or {}),
    }
    with DevHostProcess(REPO, settings_env=settings, **{"clock": "virtual", **host_options}) as host:
        yield host, settings


@pytest.fixture
def stack(stack_host: HostPair, simulators: SimulatorsProcess,
          azurite: Azurite) -> Stack:
    host, settings = stack_host
    simulators.reset()
    host.client.clear_faults()
    # What a user does once after installing: create the app's deal properties in HubSpot.
    with HubSpotClient(simulators.hubspot_url, TOKEN, requests_per_10s=None) as crm:
        crm.ensure_app_properties()
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    forget_customers(service, settings)
    return Stack(host, simulators, TableLedger(service, settings["LEDGER_TABLE_NAME"]), settings)


def forget_customers(service: TableServiceClient, settings: dict[str, str]) -> None:
    """Empty the app's customer map: the Xero simulator was reset, and its contact ids start again."""
    table = service.get_table_client(settings["CUSTOMER_MAP_TABLE_NAME"])
    with contextlib.suppress(ResourceNotFoundError):  # no deal of this host recorded a contact yet
        for row in list(table.list_entities(select=["PartitionKey", "RowKey"])):
            table.delete_entity(row["PartitionKey"], row["RowKey"])


_FIRST_IDS = itertools.count(20_000_001, 1_000_000)


@pytest.fixture
def fresh_stack(stack: Stack) -> Stack:
    """``stack`` whose new HubSpot objects get ids no earlier test on this devhost and ledger used.

    The simulators are reset before every test but devhost, its entities and the ledger live for the
    module: without this, two tests' deals would share a transaction id (``deal-<id>``).
    """
    stack.sims.hubspot.config(first_id=next(_FIRST_IDS))
    return stack


# The app's client-side limits and the simulators' server-side ones, raised so that the many calls of
# a test module (or a batch) never wait for a real minute; the limiters themselves stay on.
FAST_APP_LIMITS = {"HUBSPOT_REQUESTS_PER_10S": "100000", "XERO_CALLS_PER_MINUTE": "100000",
                   "XERO_MAX_CONCURRENT": "20"}
FAST_XERO_SIM = {"calls_per_minute": 100_000, "calls_per_day": 1_000_000, "max_concurrent": 20}
FAST_HUBSPOT_SIM = {"requests_per_10s": 0}



def module_host(extra: dict[str, str] | Callable[[SimulatorsProcess], dict[str, str]] | None = None,
                **host_options: Any) -> Any:
    """A module's own devhost fixture: ``stack_host = module_host({**FAST_APP_LIMITS, ...}, clock=None)``.

    One ``app_host`` for the module, with ``extra`` settings (or a function of the simulators giving them) and
    ``host_options``; the name it is assigned to is the fixture's name."""

    @pytest.fixture(scope="module")
    def host_fixture(azurite: Azurite, simulators: SimulatorsProcess) -> Iterator[HostPair]:
        settings = extra(simulators) if callable(extra) else extra
        with app_host(azurite, simulators, settings, **host_options) as pair:
            yield pair

    return host_fixture


@pytest.fixture
def fast_stack(fresh_stack: Stack) -> Stack:
    """``fresh_stack`` with the simulators' rate limits raised to match ``FAST_APP_LIMITS``."""
    fresh_stack.sims.xero.config(**FAST_XERO_SIM)
    fresh_stack.sims.hubspot.config(**FAST_HUBSPOT_SIM)
    return fresh_stack
