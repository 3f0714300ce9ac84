"""Thin activity functions: hand the payload to the plain activity of the same name, with this process's clients.

The deal saga's activities are registered from its step table (``shared.sync.deal_saga.ACTIVITIES``).
"""

import functools
from typing import Any

import azure.durable_functions as df

from shared import composition, names
from shared.adapters.durable_client import DurableClientAdapter
from shared.application import batch_flushing, deal_sync_starts, life_event_starts, paid_invoice_starts
from shared.application.messages import DealSyncStarts, LifeEventStarts
from shared.config import get_settings
from shared.domain.transaction import TransactionState
from shared.saga.envelope import run_activity
from shared.sync import activities, attention, batch_steps, deal_saga, discovery, life_events, paid
from shared.sync.step_table import Activity

bp = df.Blueprint()


def _durable(client: df.DurableOrchestrationClient) -> DurableClientAdapter:
    # Blueprints never import each other: each hands the SDK types to the shared adapter itself.
    return DurableClientAdapter(client, entity_id=df.EntityId, runtime_status=df.OrchestrationRuntimeStatus)


# Activity inputs are annotated `Any`: the Functions worker refuses a parameter annotation that is not a class
# (`dict[str, Any]` is a generic alias), and refusing one function stops the whole app. The plain activities
# validate the payload into their pydantic input models anyway.


def _register(activity: Activity[Any, Any]) -> None:
    """One Functions activity per entry of the deal saga's table, named after it: the worker indexes each one
    decorated at import, and needs distinct names (the function's own name is the one it registers)."""

    def run(payload: Any) -> dict[str, Any]:
        return activity.run(payload, composition.ports())

    run.__name__ = run.__qualname__ = activity.name
    bp.function_name(name=activity.name)(bp.activity_trigger(input_name="payload", activity=activity.name)(run))


for _activity in deal_saga.ACTIVITIES.values():
    _register(_activity)


@bp.activity_trigger(input_name="payload", activity=names.RECORD_TRANSACTION)
def record_transaction(payload: Any) -> None:
    state = TransactionState.model_validate(payload)
    composition.ledger().upsert(state)
    attention.report(state)


@bp.activity_trigger(input_name="payload", activity=names.FIND_DEALS)
def find_deals_to_sync(payload: Any) -> dict[str, Any]:
    ledger = composition.ledger()
    rows = functools.cache(ledger.for_deal)  # one ledger read per deal of the page
    found = discovery.find_deals(discovery.FindDealsInput.model_validate(payload), composition.crm(),
                                 has_transaction=lambda deal_id, when: discovery.has_transaction(rows(deal_id), when),
                                 generation=lambda deal_id: discovery.next_generation(deal_id, rows(deal_id)))
    return found.model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=names.MARK_DEAL_PAID)
def mark_deal_paid(payload: Any) -> dict[str, Any]:
    return run_activity(lambda p: paid.mark_deal_paid(paid.MarkPaidInput.model_validate(p), composition.crm(),
                                                      composition.accounting(),
                                                      get_settings().hubspot_trigger_stage), payload)


@bp.activity_trigger(input_name="payload", activity=names.START_PAID_INVOICES)
@bp.durable_client_input(client_name="client")
async def start_paid_invoices(payload: Any, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    request = paid_invoice_starts.PaidInvoiceBatch.model_validate(payload)
    report = await paid_invoice_starts.start_paid_invoice_syncs(_durable(client), request.invoice_ids,
                                                                request.batch_id)
    return report.as_json()


@bp.activity_trigger(input_name="payload", activity=names.READ_PAID_INVOICES)
def read_paid_invoices(payload: Any) -> dict[str, Any]:
    return run_activity(lambda p: paid.read_invoices(paid.ReadInvoicesInput.model_validate(p),
                                                     composition.accounting()), payload)


@bp.activity_trigger(input_name="payload", activity=names.DELIVER_INVOICE_READS)
@bp.durable_client_input(client_name="client")
async def deliver_invoice_reads(payload: Any, client: df.DurableOrchestrationClient) -> int:
    reads = paid_invoice_starts.InvoiceReads.model_validate(payload)
    return await paid_invoice_starts.deliver_invoice_reads(_durable(client), reads)


@bp.activity_trigger(input_name="payload", activity=names.START_DEAL_SYNCS)
@bp.durable_client_input(client_name="client")
async def start_deal_syncs(payload: Any, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    # An activity, not the orchestrator, because starting is I/O; async because the durable client is.
    request = DealSyncStarts.model_validate(payload)
    report = await deal_sync_starts.start_deal_syncs(_durable(client), request.deal_ids, request.trigger,
                                                     request.policy, request.accepted_at)
    return report.as_json()


@bp.activity_trigger(input_name="payload", activity=names.CHECK_MAPPING)
def check_invoice_mapping(payload: Any) -> dict[str, Any]:
    return activities.run(names.CHECK_MAPPING, payload, composition.ports())


@bp.activity_trigger(input_name="payload", activity=names.READ_LIFE_EVENT)
def read_life_event(payload: Any) -> dict[str, Any]:
    ports = composition.ports()
    return run_activity(lambda p: life_events.read_life_event(
        life_events.LifeEventInput.model_validate(p), ports.crm, ports.accounting, ports.rules, ports.trigger_stage,
        lambda deal_id: life_events.recorded_invoice_in(composition.ledger(), deal_id), ports.org), payload)


@bp.activity_trigger(input_name="payload", activity=names.APPLY_LIFE_EVENT)
def apply_life_event(payload: Any) -> dict[str, Any]:
    return run_activity(lambda p: life_events.apply_life_event(life_events.ApplyInput.model_validate(p),
                                                               composition.crm(), composition.accounting()), payload)


@bp.activity_trigger(input_name="payload", activity=names.START_LIFE_EVENTS)
@bp.durable_client_input(client_name="client")
async def start_life_events(payload: Any, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    request = LifeEventStarts.model_validate(payload)
    report = await life_event_starts.start_life_events(_durable(client), request)
    return report.as_json()


@bp.activity_trigger(input_name="payload", activity=names.RUN_BATCH)
def run_batch(payload: Any) -> dict[str, Any]:
    ports = composition.ports()
    request = batch_steps.BatchRequest.model_validate(payload)
    return batch_steps.run_batch(request, ports, composition.batch_accounting()).model_dump(mode="json")


@bp.activity_trigger(input_name="payload", activity=names.DELIVER_BATCH)
@bp.durable_client_input(client_name="client")
async def deliver_batch_results(payload: Any, client: df.DurableOrchestrationClient) -> dict[str, Any]:
    request = batch_flushing.DeliveryRequest.model_validate(payload)
    return await batch_flushing.deliver(_durable(client), [d.model_dump(mode="json") for d in request.deliveries],
                                        request.row, composition.batch_rows().record)


@bp.activity_trigger(input_name="payload", activity=names.WAKE_FLUSHER)
@bp.durable_client_input(client_name="client")
async def wake_batch_flusher(payload: Any, client: df.DurableOrchestrationClient) -> str:
    request = batch_flushing.WakeRequest.model_validate(payload)
    return await batch_flushing.wake_flusher(_durable(client), request.org, request.kind, request.epoch,
                                             request.gather_seconds, request.gather_max_seconds)
