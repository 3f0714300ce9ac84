"""Finds transactions whose orchestration failed or was terminated while their entity still says they run.

Such a transaction would show "running" for ever, and no decision could reach it. Each one found is
moved to ``needs_attention`` (reason ``orchestration_failed``) in its entity and its ledger row, and
logged as a ``sync attention:`` line, which the alert rule mails like any other. Once moved it is not
"running" any more, so it is reported once however often this runs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from shared import names
from shared.application.ports import DurableClient, EntitySignal
from shared.domain.transaction import STRANDABLE, STRANDED, InvalidTransition, TransactionState, apply
from shared.sync import attention

log = logging.getLogger(__name__)


class Ledger(Protocol):
    def upsert(self, state: TransactionState) -> None: ...


async def mark_stranded(client: DurableClient, ledger: Ledger, signal: EntitySignal, since: datetime,
                        now: datetime) -> list[str]:
    """Hand every deal sync created since ``since`` that ended badly but still looks alive to a person."""
    moved: list[str] = []
    for run in await client.ended_badly("deal-", since):
        try:
            if await _hand_over(client, ledger, signal, run.instance_id, now):
                moved.append(run.instance_id)
        except Exception:  # one transaction's storage trouble must not keep the others from a person
            log.exception("stranded transaction %s not handed over; the next run tries again", run.instance_id)
    return moved


async def _hand_over(client: DurableClient, ledger: Ledger, signal: EntitySignal, tx_id: str, now: datetime) -> bool:
    raw = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
    if not isinstance(raw, dict) or raw.get("status") not in STRANDABLE:
        return False
    if (raw.get("reason") or {}).get("code") == STRANDED:
        return False  # handed over already
    # Read again just before acting: an operator may have rewound or restarted it since the listing.
    info = await client.status(tx_id)
    if info is None or info.runtime_status not in ENDED_BADLY:
        return False
    output = str(info.output)[:500] if info.output is not None else ""
    # Never earlier than the transaction's last change (a host clock ahead of this one): the ledger keeps
    # the newer state, and this is the newest.
    last = _parse(str(raw.get("updated_at", "")))
    at = max(now, last + timedelta(microseconds=1)) if last else now
    command = {"op": "stranded", "at": at.isoformat(),
               "message": f"the orchestration is {info.runtime_status}: {output}"}
    try:
        state = apply(TransactionState.model_validate(raw), command)
    except InvalidTransition:
        return False
    # Ledger and alert first, the entity last: the entity is what marks it handled, so a ledger write
    # that fails leaves the transaction to the next run instead of half-handed-over for good.
    ledger.upsert(state)
    attention.report(state)
    await signal(names.SYNC_TRANSACTION, tx_id, "apply", command)  # the same reducer, the same command
    return True


ENDED_BADLY = frozenset({"Failed", "Terminated"})


def _parse(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
