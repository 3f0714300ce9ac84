"""The ``batch_sync`` orchestrator: won deals modified since the cursor, each through ``deal_sync``.

One page per execution: it pages through the CRM search and runs ``deal_sync`` sub-orchestrations
``concurrency`` at a time, advances the cursor only past deals whose transactions have started, then
continues as new, so its history stays small however large the backlog. It runs as the singleton
instance ``batch-sync``, so overlapping schedules never double-run.

A group still running after ``release_minutes`` is left to finish by itself (``released``): one of
its deals waits for a person (``needs_attention``), for Xero's daily limit, or for a long outage, and
the rest of the backlog must not wait for it (the batch would otherwise never end, and every later
schedule would be skipped).
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrators.context import Orchestration, task_failed
from orchestrators.retrying import call_with_retry
from shared import names
from shared.sync.cursor import CURSOR_KEY
from shared.sync.discovery import FindDealsInput, FindDealsResult
from shared.sync.identity import transaction_id
from shared.sync.policy import SEARCH_RETRY, DealSyncInput, SagaPolicy

EPOCH = datetime(1970, 1, 1, tzinfo=UTC).isoformat()
MAX_UNREADABLE_SHOWN = 20  # the input is carried across continue-as-new: keep it small


class BatchInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    since: str | None = None  # a backfill sets it; otherwise the cursor decides
    after: str | None = None
    stage: str = "closedwon"
    page_size: int = Field(default=100, ge=1, le=200)
    concurrency: int = Field(default=50, ge=1, le=50)
    policy: SagaPolicy = Field(default_factory=SagaPolicy)
    trigger: str = "schedule"
    release_minutes: float = Field(default=10, gt=0)
    started: int = 0
    skipped: int = 0
    failed_starts: int = 0
    released: int = 0
    pages: int = 0
    # Deals found but unreadable (bad CRM data): skipped so the rest go on, and shown here (the first few).
    unreadable: list[dict[str, str]] = Field(default_factory=list)

    def summary(self, since: str) -> dict[str, Any]:
        return {"started": self.started, "skipped": self.skipped, "pages": self.pages,
                "failed_starts": self.failed_starts, "released": self.released, "since": since,
                "unreadable": self.unreadable}


def batch_sync(ctx: Orchestration) -> Generator[Any, Any, dict[str, Any] | None]:
    batch = BatchInput.model_validate(ctx.get_input() or {})
    since = batch.since
    if since is None:
        cursor = yield ctx.call_entity(names.SYNC_CURSOR, CURSOR_KEY, "get")
        since = (cursor or {}).get("since") or EPOCH
    if batch.pages == 0:
        # The invoice mapping against the organisation, once per batch: a mapped code Xero lacks starts no deal.
        ok, checked = yield from call_with_retry(ctx, names.CHECK_MAPPING, {}, SEARCH_RETRY)
        if not ok or (isinstance(checked, dict) and checked.get("ok") is False):
            return {**batch.summary(since), "error": checked.get("error") if ok else checked}
    request = FindDealsInput(since=datetime.fromisoformat(since), stage=batch.stage, after=batch.after,
                             limit=batch.page_size).model_dump(mode="json")
    ok, raw = yield from call_with_retry(ctx, names.FIND_DEALS, request, SEARCH_RETRY)
    if not ok:
        # The CRM stayed unreachable: end this batch without moving the cursor; the next schedule
        # starts from the same place, so nothing is lost.
        return {**batch.summary(since), "error": raw}
    found = FindDealsResult.model_validate(raw)
    batch.unreadable = (batch.unreadable + [u.model_dump(mode="json") for u in found.unreadable])[:MAX_UNREADABLE_SHOWN]
    in_waves = batch.policy.model_copy(update={"batch_solo": False})
    for start in range(0, len(found.deals), batch.concurrency):
        chunk = found.deals[start:start + batch.concurrency]
        # The page's deals start in waves: a wave's first deal queues for the wave's batch instead of going
        # alone. A wave of one deal has nobody to wait for: it goes straight to its calls.
        policy = in_waves if len(chunk) > 1 else batch.policy
        # A deal whose earlier transactions were skipped (not won then) gets the next generation.
        tasks = [ctx.call_sub_orchestrator(names.DEAL_SYNC, DealSyncInput(
            deal_id=deal.id, trigger=batch.trigger, policy=policy, generation=deal.generation,
        ).model_dump(mode="json"), transaction_id(deal.id, deal.generation)) for deal in chunk]
        batch.started += len(chunk)
        # Each child is guarded by its own task_any, which completes (never fails) when the child ends,
        # however it ends: a task_all over bare children fails at the first failure and later completes
        # a second time, which the SDK reports to the enclosing task_any as an error on every replay.
        guarded = [ctx.task_any([task]) for task in tasks]
        # Each task_any holds only tasks made for it: the Functions host replays a task_any's actions in
        # order and cannot wait again on tasks an earlier one scheduled (so no sliding window over them).
        release = ctx.create_timer(ctx.current_utc_datetime + timedelta(minutes=batch.release_minutes))
        winner = yield ctx.task_any([ctx.task_all(guarded), release])
        # deal_sync never fails on business errors (they end as outcomes); a failed one was already
        # running (started by a webhook), stopped by an operator, or hit a fault (the schedule's stranded
        # check hands that transaction to a person). Children still running count as not failed.
        batch.failed_starts += sum(task_failed(task) for task in tasks)
        if winner is release:
            # Still running: a deal waits for a person, a quota or a long outage. It goes on by itself;
            # the backlog must not wait for it.
            batch.released += 1
            continue
        release.cancel()
    batch.skipped += found.skipped
    batch.pages += 1
    if found.max_modified:
        # Every deal of this page has a transaction now: the cursor may move past them.
        ctx.signal_entity(names.SYNC_CURSOR, CURSOR_KEY, "set",
                          {"since": found.max_modified, "at": ctx.current_utc_datetime.isoformat()})
    if found.next_after is None and found.next_since is None:
        return batch.summary(since)
    ctx.continue_as_new(batch.model_copy(update={
        "since": found.next_since or since, "after": found.next_after}).model_dump(mode="json"))
    return None
