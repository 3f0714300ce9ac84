"""Thin orchestrator functions: adapt the SDK's context to the plain ``Orchestration`` port and delegate."""

from collections.abc import Generator
from datetime import datetime
from typing import Any

import azure.durable_functions as df

from orchestrators.batch_flusher import batch_flusher as run_batch_flusher
from orchestrators.batch_sync import batch_sync as run_batch_sync
from orchestrators.deal_change import deal_change as run_deal_change
from orchestrators.deal_sync import deal_sync as run_deal_sync
from orchestrators.invoice_paid import invoice_paid as run_invoice_paid
from orchestrators.life_event_batch import life_event_batch as run_life_event_batch
from orchestrators.paid_invoice_batch import paid_invoice_batch as run_paid_invoice_batch
from orchestrators.webhook_batch import webhook_batch as run_webhook_batch
from shared import names

bp = df.Blueprint()


class _Context:
    """``DurableOrchestrationContext`` behind the port: entity ids are the only SDK type plain code needs."""

    def __init__(self, ctx: df.DurableOrchestrationContext) -> None:
        self._ctx = ctx

    @property
    def instance_id(self) -> str:
        return str(self._ctx.instance_id)

    @property
    def current_utc_datetime(self) -> datetime:
        return self._ctx.current_utc_datetime

    def get_input(self) -> Any:
        return self._ctx.get_input()

    def call_activity(self, name: str, input_: Any = None) -> Any:
        return self._ctx.call_activity(name, input_)

    def create_timer(self, fire_at: datetime) -> Any:
        return self._ctx.create_timer(fire_at)

    def wait_for_external_event(self, name: str) -> Any:
        return self._ctx.wait_for_external_event(name)

    def task_any(self, tasks: list[Any]) -> Any:
        return self._ctx.task_any(tasks)

    def task_all(self, tasks: list[Any]) -> Any:
        return self._ctx.task_all(tasks)

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Any:
        return self._ctx.call_sub_orchestrator(name, input_, instance_id)

    def call_entity(self, entity: str, key: str, operation: str, input_: Any = None) -> Any:
        return self._ctx.call_entity(df.EntityId(entity, key), operation, input_)

    def continue_as_new(self, input_: Any) -> None:
        self._ctx.continue_as_new(input_)

    def signal_entity(self, entity: str, key: str, operation: str, input_: Any = None) -> None:
        self._ctx.signal_entity(df.EntityId(entity, key), operation, input_)

    def set_custom_status(self, status: Any) -> None:
        self._ctx.set_custom_status(status)

    @property
    def custom_status(self) -> Any:
        return self._ctx.custom_status


@bp.orchestration_trigger(context_name="context", orchestration=names.DEAL_SYNC)
def deal_sync(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    result = yield from run_deal_sync(_Context(context))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=names.BATCH_SYNC)
def batch_sync(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any] | None]:
    result = yield from run_batch_sync(_Context(context))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=names.INVOICE_PAID)
def invoice_paid(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    result = yield from run_invoice_paid(_Context(context))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=names.PAID_INVOICE_BATCH)
def paid_invoice_batch(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    result = yield from run_paid_invoice_batch(_Context(context))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=names.WEBHOOK_BATCH)
def webhook_batch(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    result = yield from run_webhook_batch(_Context(context))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=names.DEAL_CHANGE)
def deal_change(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    result = yield from run_deal_change(_Context(context))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=names.LIFE_EVENT_BATCH)
def life_event_batch(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    result = yield from run_life_event_batch(_Context(context))
    return result


@bp.orchestration_trigger(context_name="context", orchestration=names.BATCH_FLUSHER)
def batch_flusher(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    result = yield from run_batch_flusher(_Context(context))
    return result
