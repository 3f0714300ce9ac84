"""Adapters are built from Settings and satisfy the saga's ports."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.config import Settings
from shared.connectors.hubspot import HubSpotClient
from shared.connectors.ports import AccountingPort, CrmPort
from shared.connectors.xero import XeroClient
from simulators.testing import SimulatorsProcess
from tests.connectors.conftest import HUBSPOT_TOKEN, TENANT, XERO_CLIENT_ID, XERO_CLIENT_SECRET


def test_clients_from_settings_talk_to_the_configured_services(xero_sim: SimulatorsProcess) -> None:
    sims = xero_sim
    sims.hubspot.config(access_token=HUBSPOT_TOKEN)
    settings = Settings(
        AzureWebJobsStorage="UseDevelopmentStorage=true",
        HUBSPOT_BASE_URL=sims.hubspot_url,
        HUBSPOT_ACCESS_TOKEN=HUBSPOT_TOKEN,
        HUBSPOT_APP_SECRET="app-secret",
        XERO_BASE_URL=f"{sims.xero_url}/api.xro/2.0",
        XERO_TOKEN_URL=f"{sims.xero_url}/connect/token",
        XERO_CLIENT_ID=XERO_CLIENT_ID,
        XERO_CLIENT_SECRET=XERO_CLIENT_SECRET,
        XERO_TENANT_ID=TENANT,
        XERO_WEBHOOK_KEY="webhook-key",
        RATE_LIMIT_TIME_SCALE="10",
    )
    with HubSpotClient.from_settings(settings) as crm, XeroClient.from_settings(settings) as accounting:
        assert isinstance(crm, CrmPort) and isinstance(accounting, AccountingPort)
        assert crm.search_deals(datetime(2025, 1, 1, tzinfo=UTC), "closedwon").deals == []
        assert accounting.find_customer("company-1") is None
        assert HUBSPOT_TOKEN not in repr(crm) and XERO_CLIENT_SECRET not in repr(accounting)
