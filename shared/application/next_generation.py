"""Which of a deal's transactions a win acts on: the one that covers it, one to wait for, or the next generation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from shared import names
from shared.application.ports import ACTIVE, DurableClient, InstanceInfo
from shared.domain.transaction import TERMINAL, blocks_new_sync
from shared.sync.identity import transaction_id

# Each transaction of a deal that ended without invoicing it (skipped: not won yet; compensated: bad data
# fixed since; already_synced) leaves its id to history, so a deal tried this many times is left to a person.
MAX_GENERATIONS = 20

Decision = Literal["start", "covered", "wait"]
# A finished transaction that invoiced the deal, or one a person decides (their Retry reads the deal afresh).
COVERS_THE_DEAL = frozenset({"completed", "needs_attention"})


def counts_as_existing(info: InstanceInfo | None) -> bool:
    """A deal sync found under the id being started: running, or finished in a way no new sync may follow."""
    if info is None or info.runtime_status is None:
        return False
    output = info.output if isinstance(info.output, dict) else {}
    return info.runtime_status != "Completed" or blocks_new_sync(str(output.get("status", "")))


def _live_decision(info: InstanceInfo, recorded: Any, accepted_at: str) -> Decision:
    """What a win accepted at ``accepted_at`` means for a deal whose transaction is still live.

    It is in hand when the run has not begun (``Pending``) or began after the win was accepted (it reads
    the deal afterwards), went past reading the deal (a later step was recorded: the deal was won when
    read), or waits for a person. Otherwise the run may have read the deal before the win, and would end
    ``skipped`` without it: the win waits for it to end, then starts the next generation.
    """
    if info.runtime_status == "Pending":
        return "covered"
    if accepted_at and info.created_time and _utc(info.created_time) >= _utc(accepted_at):
        return "covered"
    if not isinstance(recorded, dict):
        return "wait"  # running, nothing recorded yet
    if recorded.get("status") == "needs_attention":
        return "covered"
    if accepted_at and _utc(str(recorded.get("created_at", ""))) >= _utc(accepted_at):
        return "covered"
    steps = recorded.get("steps")
    steps = steps if isinstance(steps, list) else []
    past_load = any(isinstance(step, dict) and step.get("name") not in (None, "load") for step in steps)
    return "covered" if recorded.get("status") == "running" and past_load else "wait"


def _utc(value: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime; an unreadable one as the earliest time (never "after")."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def transaction_to_start(client: DurableClient, deal_id: str,
                               accepted_at: str = "") -> tuple[str, int, Decision]:
    """The deal's transaction a trigger acts on, and what to do: ``(id, generation, decision)``.

    The latest transaction decides, whatever earlier ones ended as: one that invoiced the deal, or waits
    for a person, or is running past its read of the deal, covers it (``covered``); one still finishing
    that may not have seen the win is waited for (``wait``); one that ended without invoicing (skipped,
    rolled back, already synced) is followed by the next generation (``start``). A finished transaction
    is never run again under its id (its entity, ledger row and history say what happened then). When an
    instance is gone (never started, or its history purged after HISTORY_RETENTION_DAYS), its entity says
    whether it existed.
    """
    for generation in range(1, MAX_GENERATIONS + 1):
        tx_id = transaction_id(deal_id, generation)
        info = await client.status(tx_id)
        if info is not None and info.runtime_status is not None:
            if info.runtime_status in ACTIVE:
                recorded = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
                return tx_id, generation, _live_decision(info, recorded, accepted_at)
            if info.runtime_status != "Completed":
                return tx_id, generation, "covered"  # failed or terminated: handed to a person (stranded)
            status = str((info.output if isinstance(info.output, dict) else {}).get("status", ""))
            if status in COVERS_THE_DEAL:
                return tx_id, generation, "covered"
            continue  # ended without invoicing the deal: the next generation
        recorded = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
        if not isinstance(recorded, dict):
            return tx_id, generation, "start"
        if str(recorded.get("status", "")) not in TERMINAL or recorded.get("status") in COVERS_THE_DEAL:
            return tx_id, generation, "covered"
    return transaction_id(deal_id, MAX_GENERATIONS), MAX_GENERATIONS, "covered"
