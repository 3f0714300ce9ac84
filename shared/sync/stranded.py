"""Finds transactions whose orchestration failed or was terminated while their entity still says they run.

Such a transaction would show "running" for ever, and no decision could reach it. Each one found is
moved to ``needs_attention`` (reason ``orchestration_failed``) in its entity and its ledger row, and
logged as a ``sync attention:`` line, which the alert rule mails like any other. Once moved it is not
"running" any more, so it is reported once however often this runs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from shared import names
from shared.api.starter import DurableClient
from shared.domain.transaction import STRANDABLE, InvalidTransition, TransactionState, apply
from shared.sync import attention

log = logging.getLogger(__name__)


class Ledger(Protocol):
    def upsert(self, state: TransactionState) -> None: ...


class EntitySignal(Protocol):
    async def __call__(self, entity: str, key: str, operation: str, input_: object) -> None: ...


async def mark_stranded(client: DurableClient, ledger: Ledger, signal: EntitySignal, since: datetime,
                        now: datetime) -> list[str]:
    """Move every deal sync that ended badly since ``since`` and still looks alive to needs_attention."""
    moved: list[str] = []
    for run in await client.ended_badly("deal-", since):
        raw = await client.entity_state(names.SYNC_TRANSACTION, run.instance_id)
        if not isinstance(raw, dict) or raw.get("status") not in STRANDABLE:
            continue
        command = {"op": "stranded", "at": now.isoformat(),
                   "message": f"the orchestration is {run.runtime_status}: {run.output}"}
        try:
            state = apply(TransactionState.model_validate(raw), command)
        except InvalidTransition:
            continue
        # The entity applies the same reducer to the same command; the ledger row follows it.
        await signal(names.SYNC_TRANSACTION, run.instance_id, "apply", command)
        ledger.upsert(state)
        attention.report(state)
        moved.append(run.instance_id)
    return moved
