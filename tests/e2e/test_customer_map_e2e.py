"""The customer map end to end: a company's second deal reads its Xero contact by id (``IDs=``), never by a
``where=ContactNumber`` search; a contact archived or renumbered in Xero behind the map's back is handled.

devhost runs the unmodified app with a real Azurite and the HubSpot and Xero simulators.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.connectors.xero import XeroClient
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import contacts, invoices
from tests.support.crm_data import WonDeal, create_won_deal
from tests.support.crm_data import create_object as _create
from tests.support.settings import sample_settings
from tests.support.xero_spec import spec_problems

SETTINGS = sample_settings()
CONTACTS = "/api.xro/2.0/Contacts"

stack_host = module_host(FAST_APP_LIMITS)


def _another_deal(stack: Stack, won: WonDeal) -> str:
    """A second won deal of the same company and contact, as a sales rep closes one."""
    with httpx.Client(base_url=stack.sims.hubspot_url, headers={"Authorization": "Bearer test-token"},
                      timeout=10) as client:
        item = _create(client, "line_items", {"name": "Extra seats", "quantity": "1", "price": "300.00"})
        return _create(client, "deals", {"dealname": "Upsell", "dealstage": "closedwon", "pipeline": "default",
                                         "deal_currency_code": "EUR", "closedate": "2026-11-02T00:00:00Z",
                                         "amount": "300.00", "payment_terms_days": "14"},
                       [("companies", won.company_id), ("contacts", won.contact_id), ("line_items", item)])


def _contact_calls(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in stack.sims.xero.requests() if r["method"] == "GET" and r["path"] == CONTACTS]


def _searches(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in _contact_calls(stack) if "ContactNumber" in r["query"].get("where", "")]


def _invoice_contact(stack: Stack, deal_id: str) -> str:
    [invoice] = [i for i in invoices(stack) if i.get("Reference") == f"Deal {deal_id}"]
    return str(invoice["Contact"]["ContactID"])


def _finance(stack: Stack) -> XeroClient:
    """The Xero API as finance uses it by hand (same organisation, another caller)."""
    return XeroClient(stack.settings["XERO_BASE_URL"], stack.settings["XERO_TOKEN_URL"], SETTINGS["XERO_CLIENT_ID"],
                      SETTINGS["XERO_CLIENT_SECRET"], SETTINGS["XERO_TENANT_ID"], calls_per_minute=None)


def _first_deal(stack: Stack) -> tuple[WonDeal, str]:
    won = create_won_deal(stack.sims.hubspot_url, company="Mapped Co")
    assert stack.run_deal(won.deal_id)["output"]["status"] == "completed"
    stack.sims.xero.clear_requests()
    return won, _invoice_contact(stack, won.deal_id)


@pytest.mark.e2e
def test_a_second_deal_of_a_company_reads_its_contact_by_id_and_never_searches(fast_stack: Stack) -> None:
    stack = fast_stack
    won, contact_id = _first_deal(stack)
    second = _another_deal(stack, won)
    assert stack.run_deal(second)["output"]["status"] == "completed"

    assert _invoice_contact(stack, second) == contact_id and len(contacts(stack)) == 1
    assert _searches(stack) == []
    assert [r["query"].get("IDs") for r in _contact_calls(stack)] == [contact_id]
    assert spec_problems(stack.sims.xero.requests()) == []


@pytest.mark.e2e
def test_a_contact_archived_in_xero_behind_the_maps_back_is_reactivated_not_duplicated(fast_stack: Stack) -> None:
    stack = fast_stack
    won, contact_id = _first_deal(stack)
    with _finance(stack) as xero:
        xero.archive_customer(contact_id)
    stack.sims.xero.clear_requests()
    second = _another_deal(stack, won)
    assert stack.run_deal(second)["output"]["status"] == "completed"

    assert _invoice_contact(stack, second) == contact_id
    assert [c["ContactStatus"] for c in contacts(stack)] == ["ACTIVE"]
    assert _searches(stack) == []


@pytest.mark.e2e
def test_a_contact_renumbered_in_xero_is_no_longer_the_companys_the_search_decides_and_the_map_is_repaired(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    won, old_contact = _first_deal(stack)
    with _finance(stack) as xero:  # finance gives the contact another code: it is no longer this company's
        body = {"Contacts": [{"ContactID": old_contact, "ContactNumber": "retired", "Name": "Mapped Co (old)"}]}
        headers = {"Authorization": f"Bearer {xero.tokens.token()}", "xero-tenant-id": SETTINGS["XERO_TENANT_ID"]}
        answer = httpx.post(f"{stack.settings['XERO_BASE_URL']}/Contacts/{old_contact}", json=body, headers=headers)
        assert answer.status_code == 200, answer.text
    stack.sims.xero.clear_requests()
    second = _another_deal(stack, won)
    assert stack.run_deal(second)["output"]["status"] == "completed"
    new_contact = _invoice_contact(stack, second)
    assert new_contact != old_contact and len(_searches(stack)) == 1  # read by id, refused, then searched

    stack.sims.xero.clear_requests()
    third = _another_deal(stack, won)
    assert stack.run_deal(third)["output"]["status"] == "completed"
    assert _invoice_contact(stack, third) == new_contact
    assert _searches(stack) == []  # the repaired row: read by id again
