"""The app's settings: read from the environment once, on first use, and validated with clear messages.

Nothing here runs at import time: ``function_app`` must import without any setting present (the
Functions host indexes the app before app settings are guaranteed, and tests import it bare).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    """Every setting the app reads. Names are the app-setting names, exactly as in Azure."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", populate_by_name=False)

    # --- storage (Durable Functions' task hub and the ledger share the app's storage account) ---
    storage_connection_string: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AzureWebJobsStorage")
    )
    storage_account_name: str | None = Field(
        default=None, validation_alias=AliasChoices("AzureWebJobsStorage__accountName")
    )
    storage_table_endpoint: str | None = Field(
        default=None, validation_alias=AliasChoices("AzureWebJobsStorage__tableServiceUri")
    )
    ledger_table_name: str = Field(
        default="SyncLedger", validation_alias="LEDGER_TABLE_NAME", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$"
    )
    # Which Xero contact is each CRM company's (shared/ledger/customer_map.py), in the app's storage account.
    customer_map_table_name: str = Field(
        default="CustomerMap", validation_alias="CUSTOMER_MAP_TABLE_NAME", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$"
    )
    # One row per batch of queued deal steps (shared/ledger/batch_rows.py), in the app's storage account.
    batch_table_name: str = Field(
        default="SyncBatches", validation_alias="BATCH_TABLE_NAME", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$"
    )
    task_hub_name: str = Field(default="DealSyncHub", validation_alias="TASK_HUB_NAME")

    # --- HubSpot (CRM) ---
    hubspot_base_url: str = Field(validation_alias="HUBSPOT_BASE_URL")
    hubspot_access_token: SecretStr = Field(validation_alias="HUBSPOT_ACCESS_TOKEN")
    hubspot_app_secret: SecretStr = Field(validation_alias="HUBSPOT_APP_SECRET")
    hubspot_trigger_stage: str = Field(default="closedwon", validation_alias="HUBSPOT_TRIGGER_STAGE")
    hubspot_portal_id: str = Field(default="", validation_alias="HUBSPOT_PORTAL_ID")
    hubspot_app_url: str = Field(default="https://app.hubspot.com", validation_alias="HUBSPOT_APP_URL")
    hubspot_requests_per_10s: int = Field(default=100, ge=1, validation_alias="HUBSPOT_REQUESTS_PER_10S")
    # "auto": read a deal with its lines, company and contact in one GraphQL call, falling back to
    # REST (3-4 calls) where the portal has no GraphQL (paid hubs only); "rest": never try GraphQL.
    hubspot_deal_read: Literal["auto", "rest"] = Field(default="auto", validation_alias="HUBSPOT_DEAL_READ")
    # HubSpot's date-based API version (paths /crm/objects/<version>/...): each is supported 18 months;
    # the numeric /crm/v3 and /crm/v4 paths go unsupported in 2027.
    hubspot_api_version: str = Field(
        default="2026-09", pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", validation_alias="HUBSPOT_API_VERSION"
    )

    # --- Xero (accounting) ---
    xero_base_url: str = Field(validation_alias="XERO_BASE_URL")
    xero_token_url: str = Field(validation_alias="XERO_TOKEN_URL")
    xero_client_id: SecretStr = Field(validation_alias="XERO_CLIENT_ID")
    xero_client_secret: SecretStr = Field(validation_alias="XERO_CLIENT_SECRET")
    # custom_connection: client credentials, one organisation (sold in AU, NZ, UK and US only);
    # web_app: the authorization-code flow at /api/xero/connect, with rotating refresh tokens.
    xero_auth_mode: Literal["custom_connection", "web_app"] = Field(
        default="custom_connection", validation_alias="XERO_AUTH_MODE"
    )
    # The organisation: required for a custom connection; for a Web app, which one of those the user
    # grants to take (empty: the only one granted).
    xero_tenant_id: str = Field(default="", validation_alias="XERO_TENANT_ID")
    xero_authorize_url: str = Field(
        default="https://login.xero.com/identity/connect/authorize", validation_alias="XERO_AUTHORIZE_URL"
    )
    xero_connections_url: str = Field(
        default="https://api.xero.com/connections", validation_alias="XERO_CONNECTIONS_URL"
    )
    xero_revocation_url: str = Field(
        default="https://identity.xero.com/connect/revocation", validation_alias="XERO_REVOCATION_URL"
    )
    xero_token_table_name: str = Field(
        default="XeroConnection", validation_alias="XERO_TOKEN_TABLE_NAME", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$"
    )
    # The organisation's daily call budget: 1000 on Xero's free Starter tier, 5000 on paid tiers.
    xero_calls_per_day: int = Field(default=5000, ge=1, validation_alias="XERO_CALLS_PER_DAY")
    xero_webhook_key: SecretStr = Field(validation_alias="XERO_WEBHOOK_KEY")
    xero_app_url: str = Field(default="https://go.xero.com", validation_alias="XERO_APP_URL")
    xero_calls_per_minute: int = Field(default=60, ge=1, validation_alias="XERO_CALLS_PER_MINUTE")
    xero_max_concurrent: int = Field(default=5, ge=1, validation_alias="XERO_MAX_CONCURRENT")

    # --- connectors in general ---
    http_timeout_seconds: float = Field(default=20.0, gt=0, validation_alias="HTTP_TIMEOUT_SECONDS")
    # Time-scale for client-side rate limiters: 1 in production; benchmarks speed up the simulated
    # minute and must slow the limiter's clock by the same factor.
    rate_limit_time_scale: float = Field(default=1.0, gt=0, validation_alias="RATE_LIMIT_TIME_SCALE")

    # --- invoice mapping ---
    invoice_account_code: str = Field(default="200", validation_alias="INVOICE_ACCOUNT_CODE")
    invoice_tax_type: str = Field(default="OUTPUT", validation_alias="INVOICE_TAX_TYPE")
    invoice_line_amount_types: str = Field(
        default="Exclusive", pattern="^(Exclusive|Inclusive|NoTax)$", validation_alias="INVOICE_LINE_AMOUNT_TYPES"
    )
    invoice_status: str = Field(
        default="AUTHORISED", pattern="^(DRAFT|SUBMITTED|AUTHORISED)$", validation_alias="INVOICE_STATUS"
    )
    default_currency: str = Field(default="USD", pattern="^[A-Z]{3}$", validation_alias="DEFAULT_CURRENCY")
    default_payment_terms_days: int = Field(
        default=30, ge=0, le=365, validation_alias="DEFAULT_PAYMENT_TERMS_DAYS"
    )
    max_invoice_total: Decimal = Field(
        default=Decimal("10000000"), gt=0, validation_alias="MAX_INVOICE_TOTAL"
    )
    # The invoice date's sanity window around today: a close date outside it is dated today, or refused.
    invoice_date_max_age_days: int = Field(default=365, ge=0, le=36500, validation_alias="INVOICE_DATE_MAX_AGE_DAYS")
    invoice_date_max_ahead_days: int = Field(
        default=1, ge=0, le=36500, validation_alias="INVOICE_DATE_MAX_AHEAD_DAYS"
    )
    invoice_date_out_of_range: Literal["today", "reject"] = Field(
        default="today", validation_alias="INVOICE_DATE_OUT_OF_RANGE"
    )
    # A CRM company whose name another accounting customer has: a "<name> (HubSpot <id>)" customer, or refused.
    customer_name_collision: Literal["disambiguate", "reject"] = Field(
        default="disambiguate", validation_alias="CUSTOMER_NAME_COLLISION"
    )
    # The invoice's line total against HubSpot's deal amount: the difference recorded, or the deal refused.
    amount_mismatch: Literal["record", "refuse"] = Field(default="record", validation_alias="AMOUNT_MISMATCH")
    amount_tolerance: Decimal = Field(default=Decimal("0"), ge=0, validation_alias="AMOUNT_TOLERANCE")
    # The finance team's mapping as inline JSON (shared/domain/mapping_file.py): codes per product and tax
    # group, tracking categories, branding theme. Read apart from the other settings: a bad entry is named
    # by /api/health and refuses syncs, while the rest of the app goes on answering.
    invoice_mapping: str = Field(default="", validation_alias="INVOICE_MAPPING")
    # Xero e-mails each AUTHORISED invoice to its contact as the saga's last step (cannot be undone).
    send_invoice_email: bool = Field(default=False, validation_alias="SEND_INVOICE_EMAIL")
    # How long a process trusts what it read of the organisation's codes (tax rates, items, tracking, ...).
    xero_org_cache_seconds: float = Field(default=600, ge=0, le=86400, validation_alias="XERO_ORG_CACHE_SECONDS")

    # --- saga policy ---
    sync_schedule: str = Field(default="0 */15 * * * *", validation_alias="SYNC_SCHEDULE")
    # --- housekeeping: finished orchestrations' history (entities and ledger stay); 0 keeps it for ever ---
    purge_schedule: str = Field(default="0 30 3 * * *", validation_alias="PURGE_SCHEDULE")
    history_retention_days: float = Field(default=30, ge=0, le=3650, validation_alias="HISTORY_RETENTION_DAYS")
    # 50: a scheduled batch's deals move in waves of this size, and 50 fills one Xero batch call (BATCHED_STEPS).
    batch_concurrency: int = Field(default=50, ge=1, le=50, validation_alias="SYNC_BATCH_CONCURRENCY")
    batch_page_size: int = Field(default=100, ge=1, le=200, validation_alias="SYNC_BATCH_PAGE_SIZE")
    saga_deadline_minutes: int = Field(default=120, ge=1, validation_alias="SAGA_DEADLINE_MINUTES")
    # The kill switch of batched saga steps (many deals per Xero call): false goes back to one call per deal.
    # Frozen into each saga's input: instances already running keep what they started with.
    batched_steps: bool = Field(default=True, validation_alias="BATCHED_STEPS")
    # How long a batched step waits for its batch before it takes its item back and goes alone.
    batch_wait_seconds: float = Field(default=120, ge=1, le=3600, validation_alias="BATCH_WAIT_SECONDS")
    # How long a flusher lets a partial batch gather: until arrivals pause this long, at most the longer
    # figure from its oldest deal (0: a batch leaves at once). A deal with nothing queued never waits.
    batch_gather_seconds: float = Field(default=1.0, ge=0, le=60, validation_alias="BATCH_GATHER_SECONDS")
    batch_gather_max_seconds: float = Field(default=10.0, ge=0, le=600, validation_alias="BATCH_GATHER_MAX_SECONDS")
    step_max_attempts: int = Field(default=6, ge=1, le=50, validation_alias="STEP_MAX_ATTEMPTS")
    step_retry_first_seconds: float = Field(default=2.0, gt=0, validation_alias="STEP_RETRY_FIRST_SECONDS")
    step_retry_max_seconds: float = Field(default=300.0, gt=0, validation_alias="STEP_RETRY_MAX_SECONDS")
    compensation_max_attempts: int = Field(
        default=10, ge=1, le=100, validation_alias="COMPENSATION_MAX_ATTEMPTS"
    )
    # A transaction rolled back only because a service stayed unreachable past its retries is started again
    # by the schedule (its next generation), this long after its rollback, at most this many times in a row.
    auto_retry_unreachable: bool = Field(default=True, validation_alias="AUTO_RETRY_UNREACHABLE")
    auto_retry_after_minutes: float = Field(default=10, ge=0, le=1440, validation_alias="AUTO_RETRY_AFTER_MINUTES")
    auto_retry_max: int = Field(default=3, ge=1, le=20, validation_alias="AUTO_RETRY_MAX")
    # --- after invoicing: an invoiced deal that changes, or is lost or deleted (paid invoices are always flagged) ---
    on_deal_changed: Literal["update", "flag"] = Field(default="update", validation_alias="ON_DEAL_CHANGED")
    on_deal_lost: Literal["void", "flag"] = Field(default="void", validation_alias="ON_DEAL_LOST")

    # --- HTTP surface ---
    public_base_url: str = Field(default="", validation_alias="PUBLIC_BASE_URL")
    webhook_max_body_bytes: int = Field(default=1_000_000, ge=1024, validation_alias="WEBHOOK_MAX_BODY_BYTES")

    @model_validator(mode="after")
    def _xero_tenant_for_custom_connection(self) -> Settings:
        if self.xero_auth_mode == "custom_connection" and not self.xero_tenant_id:
            raise ValueError("missing setting XERO_TENANT_ID (required when XERO_AUTH_MODE is custom_connection)")
        return self

    @model_validator(mode="after")
    def _storage_is_configured(self) -> Settings:
        if not (self.storage_connection_string or self.storage_account_name or self.storage_table_endpoint):
            raise ValueError(
                "no storage configured: set AzureWebJobsStorage (a connection string) or "
                "AzureWebJobsStorage__accountName (identity-based access)"
            )
        return self


def _describe(error: ValidationError) -> str:
    parts: list[str] = []
    for item in error.errors():
        name = ".".join(str(x) for x in item.get("loc", ())) or "settings"
        if item.get("type") == "missing":
            parts.append(f"missing setting {name}")
        else:
            # Never echo the offending value: it may be a secret.
            parts.append(f"setting {name} is invalid: {item.get('msg')}")
    return "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read from the environment on first use and cached for the process."""
    try:
        return Settings()  # values come from the environment
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()


def setting_names() -> list[str]:
    """Every app-setting name ``Settings`` reads (for the settings-coverage tests)."""
    names: list[str] = []
    for field in Settings.model_fields.values():
        alias: Any = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.extend(str(c) for c in alias.choices)
        elif alias is not None:
            names.append(str(alias))
    return names
