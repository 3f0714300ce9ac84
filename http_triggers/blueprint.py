"""Thin HTTP trigger functions: parse the request, call a plain handler in shared/api, return its response."""

import logging
from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from shared import composition, names
from shared.adapters.durable_client import DurableClientAdapter
from shared.api import batches, transactions, webhooks, xero_connect
from shared.api.health import health as health_handler
from shared.api.responses import ApiResponse, json_response
from shared.api.status_page import status_page
from shared.api.sync_now import sync_now
from shared.config import get_settings

bp = df.Blueprint()
log = logging.getLogger(__name__)


def _to_http(response: ApiResponse) -> func.HttpResponse:
    return func.HttpResponse(
        body=response.body, status_code=response.status, mimetype=response.mimetype, headers=response.headers
    )


def _durable(client: df.DurableOrchestrationClient) -> DurableClientAdapter:
    # The adapter lives in shared (the timer and activity blueprints use it too) and imports no SDK: the
    # SDK types it needs are handed in here.
    return DurableClientAdapter(client, entity_id=df.EntityId, runtime_status=df.OrchestrationRuntimeStatus)


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
    return _to_http(await webhooks.hubspot_accept(decision, _durable(client), settings))


@bp.function_name(names.XERO_WEBHOOK)
@bp.route(route="webhooks/xero", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.durable_client_input(client_name="client")
async def xero_webhook(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    decision = webhooks.xero(dict(req.headers), req.get_body(), get_settings())
    return _to_http(await webhooks.xero_accept(decision, _durable(client)))


@bp.function_name(names.START_SYNC)
@bp.route(route="sync", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_sync(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _to_http(await sync_now(req.get_body(), _durable(client), get_settings(), _xero_calls_left()))


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
    return _to_http(await transactions.get_transaction(req.route_params.get("id", ""), _durable(client),
                                                       get_settings()))


@bp.function_name(names.TRANSACTION_ACTION)
@bp.route(route="transactions/{id}/{action}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def transaction_action(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return _to_http(await transactions.act(req.route_params.get("id", ""), req.route_params.get("action", ""),
                                           _durable(client), get_settings(), composition.ledger()))


@bp.function_name(names.LIST_BATCHES)
@bp.route(route="batches", methods=["GET"])
def list_batches(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(batches.list_batches(dict(req.params), composition.batch_rows(), datetime.now(UTC)))


@bp.function_name(names.GET_BATCH)
@bp.route(route="batches/{id}", methods=["GET"])
def get_batch(req: func.HttpRequest) -> func.HttpResponse:
    return _to_http(batches.get_batch(req.route_params.get("id", ""), composition.batch_rows()))


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
