"""Xero's daily call budget in deals: what a backfill can do today, said before it starts (pure)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# A deal costs 2 Xero calls with an existing contact and 3 with a new one (bench/saga_cost.py);
# the estimate takes the dearer case so that it never promises more than the day holds.
CALLS_PER_DEAL = Decimal(3)
# Batched (BATCHED_STEPS), a backfill's deals share their calls: one grouped customer lookup per 40, one
# create per 50 contacts and per 50 invoices, 0.1 a deal at most as bench/backfill_throughput.py measures it.
CALLS_PER_BATCHED_DEAL = Decimal("0.1")


def budget_note(calls_left: int | None, calls_per_day: int, *, backfill: bool, batched: bool = False) -> dict[str, Any]:
    """The budget as the answer to ``POST /api/sync`` shows it; ``calls_left`` None: not seen yet today."""
    left = calls_per_day if calls_left is None else max(0, calls_left)
    per_deal = CALLS_PER_BATCHED_DEAL if batched else CALLS_PER_DEAL
    deals = int(left / per_deal)
    note: dict[str, Any] = {"calls_left_today": left, "calls_per_day": calls_per_day, "deals_it_covers": deals}
    if backfill or left < calls_per_day // 10:
        cost = f"{per_deal} calls a deal in batches" if batched else f"{per_deal} calls a deal"
        note["message"] = (
            f"Xero calls left today: {left} of {calls_per_day}, about {deals} deals at {cost}. "
            "Deals beyond that wait for Xero's daily limit to reset and then go on by themselves; none fail.")
    return note
