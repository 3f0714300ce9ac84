"""Keeps a transaction's entity and ledger row up to date from inside its orchestration.

The orchestrator runs the same reducer as the ``sync_transaction`` entity on its own copy: the
entity gets every change as a one-way signal (no round trip on the happy path), and the ledger is
written through an activity only when the status changes, which keeps table writes per
transaction low.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from orchestrators.context import Orchestration
from orchestrators.retrying import call_with_retry
from shared import names
from shared.domain.transaction import TransactionState, apply
from shared.saga.outcome import SagaEvent
from shared.sync import queued_status
from shared.sync.policy import LEDGER_RETRY


class Tracker:
    def __init__(self, ctx: Orchestration, tx_id: str) -> None:
        self.ctx = ctx
        self.tx_id = tx_id
        self.state: TransactionState | None = None
        self._pending: list[dict[str, Any]] = []

    def command(self, command: dict[str, Any]) -> Generator[Any, Any]:
        """Apply a command locally, signal it to the entity, and project a status change to the ledger."""
        command = {"at": self.ctx.current_utc_datetime.isoformat(), **command}
        before = self.state.status if self.state else None
        self.state = apply(self.state, command)
        self.ctx.signal_entity(names.SYNC_TRANSACTION, self.tx_id, "apply", command)
        if self.state.status != before:
            self.ctx.set_custom_status(queued_status.tracked(self.state.status, self.state.failed_step))
            yield from self.record()

    def record(self) -> Generator[Any, Any]:
        """Upsert the ledger row; the ledger is a projection, so a storage outage must not fail the saga
        (the entity still holds the truth, and the next status change rewrites the row)."""
        assert self.state is not None
        yield from call_with_retry(self.ctx, names.RECORD_TRANSACTION, self.state.model_dump(mode="json"),
                                   LEDGER_RETRY)

    def observe(self, event: SagaEvent) -> Iterator[Any]:
        """The saga engine's observer: batch a step's start with its end into one signal."""
        self._pending.append(event.model_dump(mode="json", exclude_none=True))
        if event.type in ("step_started", "compensation_started"):
            return iter(())
        events, self._pending = self._pending, []
        return self.command({"op": "events", "events": events})
