"""Issue #18: a deal alone, batched steps on, is invoiced as fast as deal by deal, on the real clock.

The real clock because a batch's gather is a durable timer, which devhost's virtual clock fires as soon as
nothing else runs: there, a lone deal made to wait one second for a gather would not show (it did not, when
one was). Each run is the deal's own organisation, so nothing else is queued or in flight.
"""

from __future__ import annotations

import statistics
import time

import pytest

from tests.e2e.batched_helpers import start_batched, won_deals
from tests.e2e.conftest import POLICY, Stack, module_host

stack_host = module_host({}, clock=None)


def _invoiced_in(stack: Stack, batched: bool, run: int) -> float:
    [deal] = won_deals(stack, 1, f"Lone Co {run} {batched}", 100 + run)
    started = time.monotonic()
    if batched:
        start_batched(stack, [deal], "lone")
    else:
        stack.client.start("deal_sync", {"deal_id": deal.deal_id, "trigger": "test", "policy": POLICY},
                           f"deal-{deal.deal_id}")
    outcome = stack.client.wait(f"deal-{deal.deal_id}", timeout=60)
    assert outcome["output"]["status"] == "completed", outcome
    return time.monotonic() - started


@pytest.mark.e2e
def test_a_lone_deal_is_invoiced_as_fast_batched_as_unbatched(fast_stack: Stack) -> None:
    timings: dict[bool, list[float]] = {True: [], False: []}
    for run in range(3):
        for batched in (False, True):
            timings[batched].append(_invoiced_in(fast_stack, batched, run))
    alone, before = statistics.median(timings[True]), statistics.median(timings[False])
    print(f"lone deal: batched {alone:.3f}s, unbatched {before:.3f}s (medians of {timings})")
    # A deal's write-back queues behind its own claim (same kind, within the cool-down): it must leave at
    # once, not after a gather's second (1.25 s against 0.18 s when it did).
    assert alone <= before * 1.25 + 0.2
