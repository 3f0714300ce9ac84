"""The composition root: builds the app's clients lazily, once per process, and lets tests swap them.

Nothing is built at import: the Functions host imports the app before settings are guaranteed,
and building clients there would also make every cold start pay for clients it may not use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from azure.data.tables import TableServiceClient

from shared.config import Settings, get_settings
from shared.connectors.http_client import ServiceHttp
from shared.connectors.hubspot import HubSpotClient
from shared.connectors.ports import AccountingPort, BatchAccountingPort, CrmPort, CustomerMap
from shared.connectors.xero import XeroClient
from shared.connectors.xero_auth import TokenSource, WebAppTokens, XeroDisconnected, XeroIdentity
from shared.connectors.xero_batch import XeroBatch
from shared.connectors.xero_token_store import BudgetRecorder, TableTokenStore
from shared.domain.invoice_mapping import MappingRules
from shared.domain.mapping_file import InvoiceMapping, MappingError, parse_mapping
from shared.ledger.batch_rows import TableBatchRows
from shared.ledger.customer_map import TableCustomerMap
from shared.ledger.table_ledger import TableLedger
from shared.sync.activities import Ports
from shared.sync.batch_port import OneByOne
from shared.sync.org_check import OrgCache

_lock = threading.RLock()  # re-entrant: ports() builds the clients it bundles
_instances: dict[str, Any] = {}


def _once(key: str, build: Callable[[], Any]) -> Any:
    # Activities run concurrently in the worker's thread pool: build each client exactly once.
    with _lock:
        if key not in _instances:
            _instances[key] = build()
        return _instances[key]


def override(key: str, value: Any) -> None:
    """Tests put their own client in place of the real one."""
    with _lock:
        _instances[key] = value


def reset() -> None:
    """Forget every built client (tests, and settings changes)."""
    with _lock:
        for value in _instances.values():
            close = getattr(value, "close", None)
            if callable(close):
                close()
        _instances.clear()


# The ledger's table calls give up within about a second when storage is away. Each ledger write is an
# activity repeated on durable timers (off the worker's threads), and the SDK's default back-off (0.8 s
# doubling) made every ledger write of a storage outage hold a worker thread for 5 s or more: the sagas
# crawled behind them. Other table users keep the SDK's defaults: nothing repeats a lost budget write.
LEDGER_CALL_LIMITS: dict[str, Any] = {"retry_total": 3, "retry_backoff_factor": 0.2, "retry_backoff_max": 1}


def build_table_service(settings: Settings, **limits: Any) -> TableServiceClient:
    """Connection string locally (Azurite); identity-based access in Azure (no shared keys)."""
    # The SDK logs every request and response at INFO: noise in the console and in Application
    # Insights (and cost). Failures still surface as exceptions and at WARNING.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    if settings.storage_connection_string is not None:
        conn = settings.storage_connection_string.get_secret_value()
        if conn.strip().lower() == "usedevelopmentstorage=true":
            # The well-known Azurite account; its key is public and documented by Microsoft.
            conn = (
                "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
            )
        return TableServiceClient.from_connection_string(conn, **limits)
    from azure.identity import DefaultAzureCredential  # only needed in Azure; keeps local imports light

    endpoint = settings.storage_table_endpoint or f"https://{settings.storage_account_name}.table.core.windows.net"
    return TableServiceClient(endpoint=endpoint, credential=DefaultAzureCredential(), **limits)


def crm() -> CrmPort:
    """The CRM adapter (HubSpot), one per process: its HTTP connection pool and rate limiter are shared."""
    client: CrmPort = _once("crm", lambda: HubSpotClient.from_settings(get_settings()))
    return client


def accounting() -> AccountingPort:
    """The accounting adapter (Xero), one per process: token cache and per-tenant limiter are shared."""
    client: AccountingPort = _once("accounting", lambda: XeroClient.from_settings(
        get_settings(), tokens=xero_tokens(), identity=xero_identity(),
        on_day_remaining=BudgetRecorder(xero_token_store())))
    return client


def batch_accounting() -> BatchAccountingPort:
    """The batched saga steps' accounting calls: many elements per Xero call (one client for both)."""
    def build() -> BatchAccountingPort:
        client = accounting()
        return XeroBatch(client) if isinstance(client, XeroClient) else OneByOne(client)

    built: BatchAccountingPort = _once("batch_accounting", build)
    return built


def xero_identity() -> XeroIdentity:
    """Xero's identity service (token requests, /connections, revocation) with the app's client credentials."""
    def build() -> XeroIdentity:
        s = get_settings()
        http = ServiceHttp("xero", s.xero_token_url, timeout=s.http_timeout_seconds)
        return XeroIdentity(http, s.xero_token_url, s.xero_client_id, s.xero_client_secret,
                            connections_url=s.xero_connections_url, revocation_url=s.xero_revocation_url)
    built: XeroIdentity = _once("xero_identity", build)
    return built


def xero_token_store() -> TableTokenStore:
    """The Web app's connection row and the daily budget row (a table of the app's storage account)."""
    built: TableTokenStore = _once("xero_token_store", lambda: TableTokenStore(
        table_service(), get_settings().xero_token_table_name))
    return built


def web_app_tokens() -> WebAppTokens | None:
    """The Web app's shared token source; None for a custom connection."""
    if get_settings().xero_auth_mode != "web_app":
        return None
    built: WebAppTokens = _once("xero_web_app_tokens", lambda: WebAppTokens(xero_identity(), xero_token_store()))
    return built


def xero_tokens() -> TokenSource | None:
    """None: the client builds its own client-credentials provider (custom connection)."""
    return web_app_tokens()


def ledger() -> TableLedger:
    built: TableLedger = _once("ledger", lambda: TableLedger(
        build_table_service(get_settings(), **LEDGER_CALL_LIMITS), get_settings().ledger_table_name))
    return built


def customer_map() -> CustomerMap | None:
    """Which Xero contact is each company's, per organisation; None for an adapter without organisations."""
    client = accounting()
    if not isinstance(client, XeroClient):
        return None
    # The organisation is read per call: a Web app reconnected to another one must not reuse the old rows.
    # The ledger's short table limits: the map is a cache, and a storage outage should cost the saga's load
    # step a search by company id, not seconds of SDK back-off on a worker thread first.
    built: TableCustomerMap = _once("customer_map", lambda: TableCustomerMap(
        build_table_service(get_settings(), **LEDGER_CALL_LIMITS), get_settings().customer_map_table_name,
        tenant=client.tokens.tenant_id))
    return built


def batch_rows() -> TableBatchRows:
    """One row per batch of queued deal steps. The ledger's short table limits: a batch's row is a report, and
    a storage outage must not hold its deals' replies for seconds of SDK back-off."""
    built: TableBatchRows = _once("batch_rows", lambda: TableBatchRows(
        build_table_service(get_settings(), **LEDGER_CALL_LIMITS), get_settings().batch_table_name))
    return built


def invoice_mapping() -> tuple[InvoiceMapping, str]:
    """INVOICE_MAPPING parsed, and "" or the error naming its bad entries (the app still starts)."""
    try:
        return parse_mapping(get_settings().invoice_mapping), ""
    except MappingError as exc:
        return InvoiceMapping(), str(exc)


def mapping_rules() -> MappingRules:
    s = get_settings()
    mapping, invalid = invoice_mapping()
    return MappingRules(
        account_code=s.invoice_account_code,
        tax_type=s.invoice_tax_type or None,
        line_amount_types=s.invoice_line_amount_types,
        status=s.invoice_status,
        default_currency=s.default_currency,
        default_payment_terms_days=s.default_payment_terms_days,
        max_total=s.max_invoice_total,
        date_max_age_days=s.invoice_date_max_age_days,
        date_max_ahead_days=s.invoice_date_max_ahead_days,
        date_out_of_range=s.invoice_date_out_of_range,
        customer_name_collision=s.customer_name_collision,
        amount_mismatch=s.amount_mismatch,
        amount_tolerance=s.amount_tolerance,
        mapping=mapping,
        invalid=invalid,
    )


def ports() -> Ports:
    """Everything the saga's activities need, built once per process."""
    built: Ports = _once("ports", lambda: Ports(crm=crm(), accounting=accounting(), rules=mapping_rules(),
                                                trigger_stage=get_settings().hubspot_trigger_stage,
                                                org=organisation(), mailer=_mailer(),
                                                customers=customer_map()))
    return built


def organisation() -> OrgCache | None:
    """The accounting organisation's codes, cached per process (Xero's TaxRates, Items, ... one GET each)."""
    client = accounting()
    read = getattr(client, "organisation_catalogue", None)
    if not callable(read):
        return None  # an adapter without the organisation's settings: the mapping is not checked
    built: OrgCache = _once("organisation", lambda: OrgCache(read, ttl=get_settings().xero_org_cache_seconds))
    return built


def _mailer() -> Any:
    client = accounting()
    return client if callable(getattr(client, "email_invoice", None)) else None


def table_service() -> TableServiceClient:
    service: TableServiceClient = _once("table_service", lambda: build_table_service(get_settings()))
    return service


# /api/health must answer within a second when storage is down or hangs: its probe makes one attempt
# (the SDK's default back-off took about 5 s to give up on a refused connection) and waits at most
# 0.8 s to connect and 0.8 s for an answer (the default is 300 s each); the checks run side by side, so the
# Web app's two probes stay under a second too. 0.8 s, not less: under load a live Azurite took over 0.4 s
# to answer and the probe called it unreachable. Only the probe: the app's own table calls keep their retries.
HEALTH_PROBE_LIMITS: dict[str, Any] = {"retry_total": 0, "connection_timeout": 0.8, "read_timeout": 0.8}


def _probe_table_service() -> TableServiceClient:
    service: TableServiceClient = _once("health_table_service", lambda: build_table_service(
        get_settings(), **HEALTH_PROBE_LIMITS))
    return service


def _storage_check() -> None:
    # One cheap round trip that needs both network reachability and valid credentials.
    next(iter(_probe_table_service().list_tables(results_per_page=1)), None)


def _settings_check() -> None:
    get_settings()
    invalid = invoice_mapping()[1]
    if invalid:
        raise MappingError(invalid)


def _xero_check() -> None:
    if get_settings().xero_auth_mode != "web_app":
        return
    # The connection row read through the probe's client, not the app's token store with its retries.
    probe: TableTokenStore = _once("health_xero_token_store", lambda: TableTokenStore(
        _probe_table_service(), get_settings().xero_token_table_name))
    if not probe.read().connected:
        raise XeroDisconnected("no usable connection")


def health_checks() -> dict[str, Callable[[], None]]:
    """What ``/api/health`` verifies: settings are valid, storage answers, and Xero is connected."""
    return {"settings": _settings_check, "storage": _storage_check, "xero": _xero_check}
