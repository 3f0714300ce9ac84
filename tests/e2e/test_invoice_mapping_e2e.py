"""Issue 16, the finance team's mapping and the optional e-mail, end to end on the unmodified app (devhost).

One module-scoped stack runs with an ``INVOICE_MAPPING`` (tax type and account per product, a tax rate group,
an item code, two tracking categories from deal properties, a branding theme). The organisation's codes are
seeded in the Xero simulator per test, and the app re-reads them at once (``XERO_ORG_CACHE_SECONDS=0``).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import FAST_APP_LIMITS, POLICY, Stack, module_host
from tests.e2e.saga_helpers import XERO_API, contacts, deal_props, invoices, ledger_row
from tests.support.crm_data import create_object as _create

MAPPING = {
    "default_account_code": "200",
    "default_tax_type": "OUTPUT",
    "tax_types_by_tax_group": {"grp-zero": "NONE"},
    "tax_types_by_product": {"SKU-EX": "EXEMPTOUTPUT"},
    "account_codes_by_product": {"SKU-EX": "4100"},
    "item_codes_by_sku": {"SKU-W": "WIDGET"},
    "tracking": [{"category": "Region", "deal_property": "region"},
                 {"category": "Channel", "deal_property": "sales_channel"}],
    "branding_theme": "Modern",
}
ORG = {"tax_rates": ["OUTPUT", "NONE", "EXEMPTOUTPUT"], "items": [{"Code": "WIDGET", "Name": "Widget"}],
       "tracking": {"Region": ["North", "South"], "Channel": ["Partner", "Direct"]},
       "branding_themes": ["Standard", "Modern"], "email_failures": 0}
EMAIL = {**POLICY, "send_invoice_email": True}


stack_host = module_host({**FAST_APP_LIMITS, "INVOICE_MAPPING": json.dumps(MAPPING),
                          "XERO_ORG_CACHE_SECONDS": "0"})


def seed_org(stack: Stack, **changes: Any) -> None:
    httpx.post(f"{stack.sims.xero_url}/_sim/xero/org", json={**ORG, **changes}, timeout=10).raise_for_status()


def won_deal(stack: Stack, region: str = "North") -> str:
    """A won deal with a mapped product line, an item line and a tax-group line, and its tracking properties."""
    with httpx.Client(base_url=stack.sims.hubspot_url, headers={"Authorization": "Bearer t"}, timeout=10) as crm:
        for name in ("region", "sales_channel"):
            crm.post("/crm/properties/2026-09/deals", json={"name": name, "label": name, "type": "string",
                                                            "fieldType": "text", "groupName": "dealinformation"})
        company = _create(crm, "companies", {"name": "Fabrikam", "domain": "fabrikam.example"})
        contact = _create(crm, "contacts", {"firstname": "Ann", "lastname": "Lee", "email": "ap@fabrikam.example"},
                          [("companies", company)])
        lines = [_create(crm, "line_items", p) for p in (
            {"name": "Exempt training", "quantity": "1", "price": "500.00", "hs_sku": "SKU-EX"},
            {"name": "Widget", "quantity": "3", "price": "20.00", "hs_sku": "SKU-W"},
            {"name": "Zero-rated kit", "quantity": "2", "price": "10.00", "hs_tax_rate_group_id": "grp-zero"},
        )]
        return _create(crm, "deals", {"dealname": "Fabrikam order", "dealstage": "closedwon", "pipeline": "default",
                                      "deal_currency_code": "EUR", "amount": "580", "region": region,
                                      "sales_channel": "Partner"},
                       [("companies", company), ("contacts", contact)] + [("line_items", i) for i in lines])


def run(stack: Stack, deal_id: str, policy: dict[str, Any]) -> dict[str, Any]:
    output: dict[str, Any] = stack.run_deal(deal_id, policy=policy)["output"]
    return output


@pytest.mark.e2e
def test_a_mapping_naming_an_item_or_tax_type_the_organisation_lacks_is_refused_at_the_start_writing_nothing(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    # No WIDGET item and no EXEMPTOUTPUT tax rate: two mapping entries name codes the organisation lacks.
    seed_org(stack, items=[], tax_rates=["OUTPUT", "NONE"])
    deal_id = won_deal(stack)
    stack.client.start("batch_sync", {"since": "2000-01-01T00:00:00+00:00", "page_size": 50, "trigger": "test",
                                      "policy": POLICY}, "batch-sync")
    batch = stack.client.wait("batch-sync", timeout=60)["output"]
    assert batch["started"] == 0 and batch["error"]["code"] == "mapping_code_missing", batch
    message = batch["error"]["message"]
    assert 'item_codes_by_sku["SKU-W"]: item "WIDGET" is not an item the organisation sells' in message
    assert 'tax_types_by_product["SKU-EX"]: tax type "EXEMPTOUTPUT" is not an active tax rate' in message
    assert contacts(stack) == [] and invoices(stack) == []
    assert not deal_props(stack, deal_id).get("invoice_sync_status")
    # A webhook's deal is refused at load, naming the entry, before the claim or any contact.
    outcome = run(stack, deal_id, POLICY)
    assert (outcome["status"], outcome["failed_step"]) == ("compensated", "load"), outcome
    assert 'item_codes_by_sku["SKU-W"]' in outcome["reason"]["message"]
    assert contacts(stack) == [] and invoices(stack) == []
    assert not deal_props(stack, deal_id).get("invoice_sync_status")


@pytest.mark.e2e
def test_mapped_codes_tracking_and_theme_reach_the_invoice_which_is_e_mailed_once_though_an_answer_is_lost(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    seed_org(stack)
    deal_id = won_deal(stack)
    # The first e-mail is sent but its answer is lost: the step runs again and must not send a second one.
    stack.sims.xero.add_fault(f"{XERO_API}/Invoices/*", 500, method="POST", after=True)
    outcome = run(stack, deal_id, EMAIL)
    assert outcome["status"] == "completed", outcome
    [invoice] = invoices(stack)
    themes = httpx.get(f"{stack.sims.xero_url}{XERO_API}/BrandingThemes", headers=_auth(stack)).json()
    theme = {t["Name"]: t["BrandingThemeID"] for t in themes["BrandingThemes"]}
    assert invoice["BrandingThemeID"] == theme["Modern"]
    codes = [(ln["Description"].split(" (")[0], ln["AccountCode"], ln["TaxType"], ln.get("ItemCode"),
              [(t["Name"], t["Option"]) for t in ln.get("Tracking", [])]) for ln in invoice["LineItems"]]
    tracking = [("Region", "North"), ("Channel", "Partner")]
    assert codes == [("Exempt training", "4100", "EXEMPTOUTPUT", None, tracking),
                     ("Widget", "200", "OUTPUT", "WIDGET", tracking),
                     ("Zero-rated kit", "200", "NONE", None, tracking)]
    assert invoice["SentToContact"] is True
    assert stack.sims.xero.state()["emails_sent"] == {invoice["InvoiceID"]: 1}
    row = ledger_row(stack, deal_id)
    assert [s["name"] for s in row["steps"]][-1] == "email" and row["steps"][-1]["attempts"] == 2
    assert row["error"] == ""


@pytest.mark.e2e
def test_an_e_mail_that_keeps_failing_leaves_the_deal_invoiced_with_a_note_saying_it_was_not_sent(
    fast_stack: Stack,
) -> None:
    stack = fast_stack
    seed_org(stack, email_failures=100)
    deal_id = won_deal(stack, region="South")
    outcome = run(stack, deal_id, EMAIL)
    assert outcome["status"] == "completed" and outcome["invoice_id"], outcome
    [invoice] = invoices(stack)
    assert invoice["Status"] == "AUTHORISED" and invoice["SentToContact"] is False  # not rolled back
    assert deal_props(stack, deal_id)["invoice_sync_status"] == "synced"
    row = ledger_row(stack, deal_id)
    # The note people see on the status page and in the ledger; the attention log line carries it too.
    assert row["status"] == "completed" and row["failed_step"] == ""
    assert row["error"].startswith("step email was not done (nothing is rolled back for it): "), row["error"]
    assert row["steps"][-1]["status"] == "failed" and row["steps"][-1]["attempts"] == POLICY["step_max_attempts"]
    assert stack.sims.xero.state()["emails_sent"] == {}


def _auth(stack: Stack) -> dict[str, str]:
    token = httpx.post(f"{stack.sims.xero_url}/connect/token", data={"grant_type": "client_credentials"},
                       auth=("any", "any"), timeout=10).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "xero-tenant-id": "t-1"}
