"""Thin HTTP trigger functions: parse the request, call a plain handler in shared/api, return its response."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from shared import composition, names
from shared.api import transactions, webhooks, xero_connect
from shared.api.health import health as health_handler
from shared.api.responses import ApiResponse, json_response
from shared.api.starter import EndedBadly, InstanceInfo, sync_now
from shared.api.status_page import status_page
from shared.config import get_settings

bp = df.Blueprint()
log = logging.getLogger(__name__)


def _to_http(response: ApiResponse) -> func.HttpResponse:
    return func.HttpResponse(
        body=response.body, status_code=response.status, mimetype=response.mimetype, headers=response.headers
    )


@dataclass
class _Info:
    runtime_status: str | None
    output: Any
    created_time: str = ""


class ClientAdapter:
    """``DurableOrchestrationClient`` behind the plain ``DurableClient`` port (also used by client activities)."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def status(self, instance_id: str) -> InstanceInfo | None:
        found = await self._client.get_status(instance_id, show_input=False)
        if not found or found.runtime_status is None:
            return None
        created = found.created_time
        return _Info(found.runtime_status.value, found.output, created.isoformat() if created else "")

    async def start(self, orchestrator: str, instance_id: str, input_: Any) -> str:
        return str(await self._client.start_new(orchestrator, instance_id, input_))

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        await self._client.raise_event(instance_id, event, data)

    async def entity_state(self, entity: str, key: str) -> Any:
        found = await self._client.read_entity_state(df.EntityId(entity, key))
        return found.entity_state if found.entity_exists else None

    async def ended_badly(self, instance_id_prefix: str, since: datetime) -> list[EndedBadly]:
        # One page (the SDK does not follow continuation tokens): created since ``since`` keeps it to
        # recent runs, plenty for faults that should not happen.
        found = await self._client.get_status_by(
            created_time_from=since,
            runtime_status=[df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated],
            instance_id_prefix=instance_id_prefix)
        return [EndedBadly(str(s.instance_id), s.runtime_status.value if s.runtime_status else "",
                           str(s.output)[:500]) for s in found]

    async def created_since(self, instance_id_prefix: str, since: datetime) -> list[str]:
        # One page, as ``ended_badly``: the ledger repair looks back a day or two, not over the whole history.
        found = await self._client.get_status_by(created_time_from=since, instance_id_prefix=instance_id_prefix)
        return [str(s.instance_id) for s in found]

    async def signal_entity(self, entity: str, key: str, operation: str, input_: object) -> None:
        await self._client.signal_entity(df.EntityId(entity, key), operation, input_)

    async def purge_finished(self, created_before: datetime) -> int:
        # createdTimeFrom is required by the host; datetime.min is refused (400), any early date will do.
        result = await self._client.purge_instance_history_by(
            created_time_from=datetime(2000, 1, 1, tzinfo=UTC), created_time_to=created_before,
            runtime_status=[df.OrchestrationRuntimeStatus.Completed, df.OrchestrationRuntimeStatus.Failed,
                            df.OrchestrationRuntimeStatus.Terminated])
        return int(result.instances_deleted)


@bp.function_name(names.HEALTH)
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(health_handler(composition.health_checks()))


@bp.function_name(names.HUBSPOT_WEBHOOK)
@bp.route(route="webhooks/hubspot", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def hubspot_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    settings = get_settings()
    decision = webhooks.hubspot(req.method, req.url, dict(req.headers), req.get_body(), settings)
    if decision.response is not None:
        return _to_http(decision.response)
    return _to_http(await webhooks.hubspot_accept(decision, ClientAdapter(client), settings))


@bp.function_name(names.XERO_WEBHOOK)
@bp.route(route="webhooks/xero", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def xero_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    decision = webhooks.xero(dict(req.headers), req.get_body(), get_settings())
    return _to_http(await webhooks.xero_accept(decision, ClientAdapter(client)))


@bp.function_name(names.START_SYNC)
@bp.route(route="sync", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_sync(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _to_http(await sync_now(req.get_body(), ClientAdapter(client), get_settings(), _xero_calls_left()))


def _xero_calls_left() -> int | None:
    try:
        return composition.xero_token_store().read_budget().remaining
    except Exception as exc:  # informative only: a batch starts without it
        log.warning("xero budget unreadable: %s", type(exc).__name__)
        return None


@bp.function_name(names.LIST_TRANSACTIONS)
@bp.route(route="transactions", methods=["GET"])
def list_transactions(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(transactions.list_transactions(dict(req.params), composition.ledger(), datetime.now(UTC)))


@bp.function_name(names.GET_TRANSACTION)
@bp.route(route="transactions/{id}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def get_transaction(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _to_http(await transactions.get_transaction(req.route_params.get("id", ""), ClientAdapter(client),
                                                       get_settings()))


@bp.function_name(names.TRANSACTION_ACTION)
@bp.route(route="transactions/{id}/{action}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def transaction_action(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _to_http(await transactions.act(req.route_params.get("id", ""), req.route_params.get("action", ""),
                                           ClientAdapter(client), get_settings(), composition.ledger()))


@bp.function_name(names.STATUS_PAGE)
@bp.route(route="status", methods=["GET"])
def status(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(status_page())


@bp.function_name(names.XERO_CONNECT)
@bp.route(route="xero/connect", methods=["GET"])
def xero_connect_start(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(xero_connect.connect(get_settings(), composition.xero_token_store(), req.url))


@bp.function_name(names.XERO_CALLBACK)
@bp.route(route="xero/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def xero_callback(req: func.HttpRequest) -> func.HttpResponse:
    # Anonymous: Xero sends the browser here without the function key; the state check guards it.
    return _to_http(xero_connect.callback(dict(req.params), req.headers.get("Cookie", ""), get_settings(),
                                          composition.xero_token_store(), composition.xero_identity(),
                                          composition.web_app_tokens(), req.url))


@bp.function_name(names.XERO_DISCONNECT)
@bp.route(route="xero/disconnect", methods=["POST"])
def xero_disconnect(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(xero_connect.disconnect(get_settings(), composition.xero_token_store(),
                                            composition.xero_identity(), composition.web_app_tokens()))


@bp.function_name(names.XERO_STATUS)
@bp.route(route="xero/status", methods=["GET"])
def xero_status(req: func.HttpRequest) -> func.HttpResponse:
    store = composition.xero_token_store()
    return _to_http(json_response(200, xero_connect.xero_state(get_settings(), store, store.read_budget())))
