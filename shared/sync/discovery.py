"""Which deals the batch should start: won deals modified since the cursor that no transaction covers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.connectors.ports import CrmPort
from shared.domain.errors import BusinessRejection
from shared.domain.models import Deal
from shared.domain.transaction import TERMINAL, blocks_new_sync
from shared.sync import attention
from shared.sync.identity import generation_of

log = logging.getLogger(__name__)

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


class Unreadable(BaseModel):
    """A deal the search found but whose properties cannot be read (the CRM's words say which).

    It still gets a transaction of its own (in ``deals``), which the saga's load step refuses with the
    same words: the deal is shown failed on the status page, and the rest of the batch goes on.
    """

    deal_id: str
    message: str
    modified: str = ""  # the deal's hs_lastmodifieddate as the CRM sent it, when it has one


class FindDealsResult(BaseModel):
    deals: list[FoundDeal]
    unreadable: list[Unreadable] = []
    skipped: int
    next_after: str | None
    next_since: str | None  # re-anchor: a new ``since`` with ``after`` reset, past the search cap
    max_modified: str | None


def has_transaction(ledger_rows: list[dict[str, Any]], modified: datetime | None = None) -> bool:
    """Whether the deal's transactions keep the batch from starting its next generation.

    One that invoiced it or is still live (running, or waiting for a person) does. One that ended
    without invoicing it does not when it was only ``skipped`` (not won then), and, when rolled back
    (bad data) or found already synced, not once the deal was changed in the CRM after it ended
    (``modified``: fixed and won again). Not before: data nobody touched would be rolled back again on
    every schedule.
    """
    if not ledger_rows:
        return False
    if any(str(r.get("status", "")) == "completed" or str(r.get("status", "")) not in TERMINAL for r in ledger_rows):
        return True
    latest = max(ledger_rows, key=lambda r: str(r.get("started_at", "")))
    if not blocks_new_sync(str(latest.get("status", ""))):
        return False
    ended = _time(str(latest.get("updated_at", "")))
    return modified is None or ended is None or modified <= ended


def _time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _modified(value: str) -> datetime | None:
    """hs_lastmodifieddate as HubSpot sends it (ISO 8601, or epoch milliseconds); None when unreadable."""
    text = value.strip()
    if text.isascii() and text.isdigit() and 10 <= len(text) <= 14:
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    return _time(text) if text else None


def next_generation(deal_id: str, ledger_rows: list[dict[str, Any]]) -> int:
    """The generation a new transaction of the deal gets: one past its earlier (skipped) ones."""
    generations = [generation_of(deal_id, str(row.get("id", ""))) for row in ledger_rows]
    return max([g for g in generations if g is not None], default=0) + 1


def find_deals(request: FindDealsInput, crm: CrmPort, has_transaction: Callable[[str, datetime | None], bool],
               generation: Callable[[str], int] = lambda _deal_id: 1) -> FindDealsResult:
    """One page of the search, minus deals the app already synced or already has a transaction for.

    ``has_transaction(deal id, last modified)`` says whether the deal's transactions keep it from a new
    one; ``generation`` gives the transaction generation to start for a deal that has none blocking it.
    """
    deals, page_next, unreadable = _search(crm, request, request.after, request.limit)
    fresh: list[FoundDeal] = []
    skipped = 0
    newest: str | None = None
    for bad in unreadable:
        # Started like any deal, so that it ends as a refused transaction naming the property (and its
        # alert line); unchanged since that one ended, it is left alone, as any rolled-back deal is.
        changed = _modified(bad.modified)
        if changed is not None:
            newest = max(newest or "", changed.isoformat())
        if has_transaction(bad.deal_id, changed):
            skipped += 0 if changed == request.since else 1
            continue
        log.info("deal %s cannot be read: its transaction will say why: %s", bad.deal_id,
                 json.dumps(" ".join(bad.message.split())[:attention.MAX_REASON], ensure_ascii=False))
        fresh.append(FoundDeal(id=bad.deal_id, modified=changed.isoformat() if changed else "",
                               generation=generation(bad.deal_id)))
    for deal in deals:
        modified = deal.last_modified.isoformat() if deal.last_modified else ""
        newest = max(newest or "", modified) or newest
        if deal.markers.sync_status in ("synced", "in_progress") or has_transaction(deal.id, deal.last_modified):
            # One modified exactly at ``since`` was on the page that set it, and counted there.
            skipped += 0 if deal.last_modified == request.since else 1
            continue
        fresh.append(FoundDeal(id=deal.id, modified=modified, generation=generation(deal.id)))
    next_after, next_since = page_next, None
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
    return FindDealsResult(deals=fresh, unreadable=unreadable, skipped=skipped, next_after=next_after,
                           next_since=next_since, max_modified=newest)


def _search(crm: CrmPort, request: FindDealsInput, after: str | None,
            limit: int) -> tuple[list[Deal], str | None, list[Unreadable]]:
    """One page of the search; a page holding a deal that cannot be read is halved until that deal is
    alone, so it is skipped and reported and the page's other deals go on (one bad deal must not stop
    every batch). ``after`` is the search's offset, as HubSpot's search pages by offset."""
    try:
        page = crm.search_deals(request.since, request.stage, after=after, limit=limit)
        return list(page.deals), page.next_after, []
    except BusinessRejection as exc:
        offset = 0 if after is None else int(after) if after.isascii() and after.isdigit() else None
        deal_id = str(exc.details.get("id", "")) if exc.details.get("object") == "deal" else ""
        if offset is None or not deal_id:
            raise  # the search itself was refused, not one deal's data
        if limit == 1:
            return [], str(offset + 1), [Unreadable(deal_id=deal_id, message=str(exc)[:1000],
                                                    modified=str(exc.details.get("modified", "")))]
        half = limit // 2
        first, first_next, bad = _search(crm, request, after, half)
        if first_next is None:
            return first, None, bad  # the results end in the first half
        second, next_after, more = _search(crm, request, str(offset + half), limit - half)
        return first + second, next_after, bad + more
