"""Thin entity functions: each entity runs its plain reducer on each operation."""

import logging

import azure.durable_functions as df

from shared import names
from shared.domain.transaction import InvalidTransition, TransactionState, apply
from shared.sync.batch_queue import apply_queue
from shared.sync.cursor import apply_cursor

bp = df.Blueprint()
log = logging.getLogger(__name__)


@bp.entity_trigger(context_name="context", entity_name=names.SYNC_TRANSACTION)
def sync_transaction(context: df.DurableEntityContext) -> None:
    raw = context.get_state(lambda: None)
    state = TransactionState.model_validate(raw) if raw else None
    if context.operation_name == "get":
        context.set_result(raw)
        return
    if context.operation_name != "apply":
        context.set_result({"error": f"unknown operation {context.operation_name!r}"})
        return
    try:
        state = apply(state, context.get_input())
    except InvalidTransition as exc:
        # Signals are one-way: refuse the change, keep the state, and leave a trace for operators.
        log.warning("sync_transaction %s refused: %s", context.entity_key, exc)
        context.set_result({"error": str(exc)})
        return
    context.set_state(state.model_dump(mode="json"))
    context.set_result({"status": state.status})


@bp.entity_trigger(context_name="context", entity_name=names.SYNC_CURSOR)
def sync_cursor(context: df.DurableEntityContext) -> None:
    state = context.get_state(lambda: None)
    if context.operation_name != "get":
        state = apply_cursor(state, context.operation_name, context.get_input())
        context.set_state(state)
    context.set_result(state)


@bp.entity_trigger(context_name="context", entity_name=names.BATCH_QUEUE)
def batch_queue(context: df.DurableEntityContext) -> None:
    state, result = apply_queue(context.get_state(lambda: None), context.operation_name, context.get_input())
    context.set_state(state)
    context.set_result(result)
