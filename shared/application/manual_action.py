"""A person's Retry or Compensate on a transaction: an event to the waiting saga, or a new generation."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from shared import names
from shared.application.ports import ACTIVE, DurableClient
from shared.application.starting import start_unless_there
from shared.config import Settings
from shared.domain.transaction import TransactionState, check_manual, invoice_gone, is_stranded
from shared.sync.identity import transaction_id
from shared.sync.policy import DealSyncInput, SagaPolicy

ACTIONS = ("retry", "compensate")


class Decisions(Protocol):
    """Where a person's decision per round is recorded once (the ledger table)."""

    def claim_decision(self, tx_id: str, round_: int, action: str, at: str) -> str | None: ...

    def release_decision(self, tx_id: str, round_: int) -> None: ...


@dataclass(frozen=True)
class Refused:
    """The action was not taken: there is no such transaction, or it cannot take this action now."""

    reason: Literal["not_found", "conflict"]
    message: str


def new_generation_on_retry(state: TransactionState) -> bool:
    """Retry starts a new generation: after a rollback, when the orchestration itself stopped (stranded;
    its invoice, if one was made and still stands, is found by reference and reused, never duplicated), or
    when the invoice it made was voided or deleted by hand in accounting (the deal is not invoiced any more)."""
    if state.kind != "sync":
        return False  # a life event after invoicing: never a reason to invoice the deal again
    return (state.status == "compensated" or (state.status == "needs_attention" and is_stranded(state))
            or invoice_gone(state))


def available_actions(state: TransactionState) -> list[str]:
    """The actions a person may take on the transaction now (what its page offers)."""
    actions = [a for a in ACTIONS if check_manual(state, a) is None]
    if new_generation_on_retry(state):
        actions.append("retry")  # a deliberate new attempt: a new generation of the transaction
    return actions


async def read_transaction(client: DurableClient, tx_id: str) -> TransactionState | None:
    """The transaction as its entity holds it; None when there is none."""
    raw = await client.entity_state(names.SYNC_TRANSACTION, tx_id)
    return TransactionState.model_validate(raw) if raw else None


async def take_action(tx_id: str, action: str, client: DurableClient, settings: Settings,
                      decisions: Decisions | None) -> dict[str, Any] | Refused:
    """Take ``action`` on ``tx_id``: what was accepted (the 202 body), or why not. The durable client's
    errors propagate (nothing was changed then, or the claimed decision was released)."""
    state = await read_transaction(client, tx_id)
    if state is None:
        return Refused("not_found", f"no transaction {tx_id}")
    if action == "retry" and new_generation_on_retry(state):
        return await _retry_as_new_generation(tx_id, state, client, settings)
    reason = check_manual(state, action)
    if reason is not None:
        return Refused("conflict", reason)
    info = await client.status(tx_id)
    if info is None or info.runtime_status not in ACTIVE:
        # The entity says a person is needed but no orchestration waits (it failed, was terminated, or
        # its history is gone): an event would be lost. Say so rather than pretend it was accepted.
        found = info.runtime_status if info is not None else "gone"
        return Refused("conflict", f"the orchestration of {tx_id} is not running ({found}); "
                       "it cannot take this decision: see docs/operations.md")
    if decisions is not None:
        taken = await asyncio.to_thread(decisions.claim_decision, tx_id, state.round, action,
                                        datetime.now(UTC).isoformat())
        if taken is not None:
            return Refused("conflict", f"{tx_id}: {taken} was already chosen for this question "
                           f"(round {state.round}); one decision per round")
    try:
        # Named for the round the person saw: a second click cannot decide a later question.
        await client.raise_event(tx_id, names.manual_event(action, state.round), {"requested": action,
                                                                                   "round": state.round})
    except Exception:
        if decisions is not None:  # not delivered: the question is still open
            await asyncio.to_thread(decisions.release_decision, tx_id, state.round)
        raise
    return {"id": tx_id, "action": action}


async def _retry_as_new_generation(tx_id: str, state: TransactionState, client: DurableClient,
                                   settings: Settings) -> dict[str, Any] | Refused:
    """Deliberately syncing a rolled-back (or stranded) deal again: a new generation, a new id."""
    new_id = transaction_id(state.deal_id, state.generation + 1)
    request = DealSyncInput(deal_id=state.deal_id, generation=state.generation + 1, trigger="manual",
                            policy=SagaPolicy.from_settings(settings),
                            after_stranded=is_stranded(state)).model_dump(mode="json")
    # Two clicks at once: the second finds the first's instance (or loses the start race): 409. A new
    # generation whose history was purged is known by its entity: never run a finished one again.
    if (await client.entity_state(names.SYNC_TRANSACTION, new_id)
            or not await start_unless_there(client, names.DEAL_SYNC, new_id, request)):
        return Refused("conflict", f"{new_id} already exists")
    return {"id": new_id, "action": "retry", "previous": tx_id}
