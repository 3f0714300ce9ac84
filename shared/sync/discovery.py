"""Which deals the batch should start: won deals modified since the cursor that have no transaction yet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.connectors.ports import CrmPort
from shared.domain.transaction import blocks_new_sync
from shared.sync.identity import generation_of

SEARCH_CAP = 10_000  # HubSpot returns at most this many results for one search
RE_ANCHOR_AT = SEARCH_CAP - 400


class FindDealsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime
    stage: str
    after: str | None = None
    limit: int = 100


class FoundDeal(BaseModel):
    id: str
    modified: str
    generation: int = 1  # > 1 when the deal's earlier transactions were skipped (it was not won then)


class FindDealsResult(BaseModel):
    deals: list[FoundDeal]
    skipped: int
    next_after: str | None
    next_since: str | None  # re-anchor: a new ``since`` with ``after`` reset, past the search cap
    max_modified: str | None


def has_transaction(ledger_rows: list[dict[str, Any]]) -> bool:
    """A deal has a transaction when any of its ledger rows blocks a new automatic sync."""
    return any(blocks_new_sync(str(row.get("status", ""))) for row in ledger_rows)


def next_generation(deal_id: str, ledger_rows: list[dict[str, Any]]) -> int:
    """The generation a new transaction of the deal gets: one past its earlier (skipped) ones."""
    generations = [generation_of(deal_id, str(row.get("id", ""))) for row in ledger_rows]
    return max([g for g in generations if g is not None], default=0) + 1


def find_deals(request: FindDealsInput, crm: CrmPort, has_transaction: Callable[[str], bool],
               generation: Callable[[str], int] = lambda _deal_id: 1) -> FindDealsResult:
    """One page of the search, minus deals the app already synced or already has a transaction for.

    ``generation`` gives the transaction generation to start for a deal that has none blocking it.
    """
    page = crm.search_deals(request.since, request.stage, after=request.after, limit=request.limit)
    fresh: list[FoundDeal] = []
    skipped = 0
    newest: str | None = None
    for deal in page.deals:
        modified = deal.last_modified.isoformat() if deal.last_modified else ""
        newest = max(newest or "", modified) or newest
        if deal.markers.sync_status in ("synced", "in_progress") or has_transaction(deal.id):
            # One modified exactly at ``since`` was on the page that set it, and counted there.
            skipped += 0 if deal.last_modified == request.since else 1
            continue
        fresh.append(FoundDeal(id=deal.id, modified=modified, generation=generation(deal.id)))
    next_after, next_since = page.next_after, None
    if next_after is not None and newest and newest > request.since.isoformat():
        # Every next page starts a new search from the newest time seen (keyset paging), not at an
        # offset: the batch itself writes to the deals of this page (claim, write-back), which moves
        # them to the end of the result order, so an offset would skip as many unsynced deals. The
        # deals of this page that come again are skipped (synced or with a transaction). It also
        # keeps every search far below HubSpot's 10,000-result cap.
        next_after, next_since = None, newest
    elif next_after is not None and next_after.isdigit() and int(next_after) >= RE_ANCHOR_AT and newest:
        # Past ~10,000 results HubSpot stops paging: start a new search from the newest time seen.
        next_after, next_since = None, newest
    return FindDealsResult(deals=fresh, skipped=skipped, next_after=next_after, next_since=next_since,
                           max_modified=newest)
