"""What the benches share: Azurite, the simulators and devhost running the app, started and stopped here."""

from __future__ import annotations

import contextlib
import statistics
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.data.tables import TableServiceClient

from devhost.testing import DevHostProcess
from shared.ledger.table_ledger import TableLedger
from simulators.testing import SimulatorsProcess
from tests.support.azurite import Azurite, start_azurite

REPO = Path(__file__).resolve().parent.parent


@dataclass
class BenchStack:
    azurite: Azurite
    sims: SimulatorsProcess
    host: DevHostProcess
    ledger_table: str


@contextlib.contextmanager
def bench_stack(ledger_table: str | None = None, **settings: str) -> Iterator[BenchStack]:
    azurite = start_azurite()
    sims = SimulatorsProcess().start()
    table = ledger_table or "Bench" + uuid.uuid4().hex[:10]
    env = {"AzureWebJobsStorage": azurite.connection_string, "LEDGER_TABLE_NAME": table,
           "HUBSPOT_BASE_URL": sims.hubspot_url, "XERO_BASE_URL": f"{sims.xero_url}/api.xro/2.0",
           "XERO_TOKEN_URL": f"{sims.xero_url}/connect/token", "SYNC_SCHEDULE": "0 0 0 1 1 *",
           "PURGE_SCHEDULE": "0 0 0 1 1 *", **settings}
    host = DevHostProcess(REPO, settings_env=env)
    try:
        host.start()
        yield BenchStack(azurite, sims, host, table)
    finally:
        host.close()
        sims.stop()
        azurite.stop()


def ledger_rows(stack: BenchStack) -> list[dict[str, Any]]:
    """Every row of the stack's ledger written within a day either side of now (all of a bench's), every page."""
    ledger = TableLedger(TableServiceClient.from_connection_string(stack.azurite.connection_string), stack.ledger_table)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    token = None
    while True:
        page = ledger.query(now - timedelta(days=1), now + timedelta(days=1), limit=1000, continuation=token)
        rows += page.items
        token = page.continuation
        if token is None:
            return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]
