"""Helpers of the batched-steps e2e files: won deals made in parallel, and deal_sync runs started batched."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.conftest import POLICY, Stack
from tests.support.crm_data import WonDeal, create_won_deal


def won_deals(stack: Stack, n: int, company: str, first_amount: int) -> list[WonDeal]:
    """``n`` won deals, each of its own company ``<company> <i>``, one line of ``first_amount + i``."""
    def one(i: int) -> WonDeal:
        return create_won_deal(stack.sims.hubspot_url, company=f"{company} {i}",
                               lines=[("Licence", "1", f"{first_amount + i}.00")])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(n)))


def start_batched(stack: Stack, deals: list[WonDeal], org_prefix: str, **policy: Any) -> None:
    """Start each deal's run with the batched steps on, in an organisation of the test's own (its queues
    start empty)."""
    org = f"{org_prefix}{deals[0].deal_id}"
    batched = {**POLICY, "batched_steps": True, "batch_wait_seconds": 20, **policy, "batch_org": org}
    for d in deals:
        stack.client.start("deal_sync", {"deal_id": d.deal_id, "trigger": "test", "policy": batched},
                           f"deal-{d.deal_id}")
