"""The batched load (BATCHED_STEPS): many deals read in a few HubSpot batch calls, their customers looked up together.

Some companies have a Xero contact already (one archived): the batched customer step finds them with one
search for all, reactivates the archived one, and creates only the others.
"""

from __future__ import annotations

from collections import Counter

import pytest

from shared.connectors.xero import XeroClient
from shared.domain.models import Customer
from tests.e2e.conftest import FAST_APP_LIMITS, Stack, module_host
from tests.e2e.saga_helpers import XERO_API
from tests.e2e.test_batched_steps_e2e import _batches, _deals, _hold_wakes, _start_all
from tests.support.settings import sample_settings

stack_host = module_host(FAST_APP_LIMITS)
SETTINGS = sample_settings()


def _finance(stack: Stack) -> XeroClient:
    return XeroClient(stack.settings["XERO_BASE_URL"], stack.settings["XERO_TOKEN_URL"], SETTINGS["XERO_CLIENT_ID"],
                      SETTINGS["XERO_CLIENT_SECRET"], SETTINGS["XERO_TENANT_ID"], calls_per_minute=None)


@pytest.mark.e2e
def test_a_burst_is_loaded_in_batch_reads_and_its_known_customers_found_by_one_search(fast_stack: Stack) -> None:
    stack = fast_stack
    deals = _deals(stack, 12)
    with _finance(stack) as xero:  # companies 9..11 are customers already; 11's contact was archived
        known = {d.company_id: xero.create_customer(Customer(external_id=d.company_id, name=f"Batched Co {i}"),
                                                     f"seed-{d.company_id}").id
                 for i, d in list(enumerate(deals))[9:]}
        xero.archive_customer(known[deals[11].company_id])
    stack.sims.hubspot.clear_requests()
    stack.sims.xero.clear_requests()
    _hold_wakes(stack)

    outcomes = _start_all(stack, deals)

    assert {o["output"]["status"] for o in outcomes.values()} == {"completed"}, outcomes
    loads = _batches(stack, [d.deal_id for d in deals], "load")
    assert max(n for n, _ in loads.values()) >= 8, loads  # the lone first deal aside, one batch read them
    hub = [f"{r['method']} {r['path'].split('?')[0]}" for r in stack.sims.hubspot.requests()]
    single_reads = [p for p in hub if p == "POST /collector/graphql" or (p.startswith("GET ") and "/deals/" in p)]
    assert len(single_reads) <= 3, single_reads  # only deals that went alone read themselves
    assert sum(p.endswith("/deals/batch/read") for p in hub) <= 2
    contacts = [r for r in stack.sims.xero.requests() if r["method"] == "GET" and r["path"] == f"{XERO_API}/Contacts"]
    searches = [r for r in contacts if "ContactNumber" in r["query"].get("where", "")]
    assert len(searches) <= 4, [r["query"] for r in searches]  # not one per deal
    state = stack.sims.xero.state()
    active = Counter(c["ContactNumber"] for c in state["contacts"] if c.get("ContactStatus", "ACTIVE") == "ACTIVE")
    assert active == Counter(d.company_id for d in deals)  # the known ones used (one reactivated), none twice
    by_ref = {i["Reference"]: i["Contact"]["ContactID"] for i in state["invoices"] if i["Status"] == "AUTHORISED"}
    for d in deals[9:]:
        assert by_ref[f"Deal {d.deal_id}"] == known[d.company_id]
