"""Function names: the wire contract between triggers, orchestrators, activities and entities.

An orchestration's history records these strings; renaming one breaks every in-flight instance,
so they change only with a migration plan.
"""

from __future__ import annotations

# --- orchestrators ---
DEAL_SYNC = "deal_sync"
BATCH_SYNC = "batch_sync"
INVOICE_PAID = "invoice_paid"
WEBHOOK_BATCH = "webhook_batch"  # instance id: WEBHOOK_BATCH_PREFIX + a hash of the batch's events
WEBHOOK_BATCH_PREFIX = "hswh-"
DEAL_CHANGE = "deal_change"  # a life event of an invoiced deal; instance id deal-<id>-change<n>
LIFE_EVENT_BATCH = "life_event_batch"  # instance id: LIFE_BATCH_PREFIX + a hash of the batch's events
LIFE_BATCH_PREFIX = "hslife-"
PAID_INVOICE_BATCH = "paid_invoice_batch"  # instance id: PAID_BATCH_PREFIX + a hash of a Xero delivery's events
PAID_BATCH_PREFIX = "xewh-"
BATCH_INSTANCE_ID = "batch-sync"  # a singleton: overlapping schedules never double-run
BATCH_FLUSHER = "batch_flusher"  # one per organisation and batched step kind: flush-<org>-<kind>-e<epoch>

# --- activities (the deal saga's own are named in its step table, shared/sync/deal_saga.py) ---
RECORD_TRANSACTION = "record_transaction"
FIND_DEALS = "find_deals_to_sync"
MARK_DEAL_PAID = "mark_deal_paid"
START_PAID_INVOICES = "start_paid_invoices"
READ_PAID_INVOICES = "read_paid_invoices"
DELIVER_INVOICE_READS = "deliver_invoice_reads"
START_DEAL_SYNCS = "start_deal_syncs"
CHECK_MAPPING = "check_invoice_mapping"
READ_LIFE_EVENT = "read_life_event"
APPLY_LIFE_EVENT = "apply_life_event"
START_LIFE_EVENTS = "start_life_events"
RUN_BATCH = "run_batch"  # one batch of queued deal steps, many elements per vendor call
DELIVER_BATCH = "deliver_batch_results"  # each waiting deal its own reply, as an external event
WAKE_FLUSHER = "wake_batch_flusher"

# --- entities ---
SYNC_TRANSACTION = "sync_transaction"
SYNC_CURSOR = "sync_cursor"
BATCH_QUEUE = "batch_queue"  # key: <organisation>:<step kind>

# --- HTTP triggers ---
HEALTH = "health"
HUBSPOT_WEBHOOK = "hubspot_webhook"
XERO_WEBHOOK = "xero_webhook"
START_SYNC = "start_sync"
LIST_TRANSACTIONS = "list_transactions"
GET_TRANSACTION = "get_transaction"
TRANSACTION_ACTION = "transaction_action"
LIST_BATCHES = "list_batches"
GET_BATCH = "get_batch"
STATUS_PAGE = "status_page"
XERO_CONNECT = "xero_connect"
XERO_CALLBACK = "xero_callback"
XERO_DISCONNECT = "xero_disconnect"
XERO_STATUS = "xero_status"

# --- timer triggers ---
SCHEDULED_SYNC = "scheduled_sync"
PURGE_HISTORY = "purge_history"

# --- external events a person sends to a transaction that needs attention ---
EVENT_RETRY = "retry"
EVENT_COMPENSATE = "compensate"
# Sent to a running invoice_paid instance when another event for its invoice arrives: read the invoice again.
EVENT_RECHECK = "recheck"


def invoice_read_event(batch_id: str) -> str:
    """The event a ``paid_invoice_batch`` sends the write-backs it started with the invoice it read for them.

    One name per batch: a late event of an earlier batch must never answer a later run of the same
    instance id (that run started after the earlier read, which may be older than its invoice's change).
    """
    return f"invoice-read-{batch_id}"


def manual_event(action: str, round_: int) -> str:
    """The external event a person's ``action`` is raised as while the transaction is in ``round_``.

    One name per round: the Python SDK hands an event that arrived while nobody waited to *every* later
    wait for that name (it never forgets it), so a second click, or a click just before the orchestrator
    started to wait, would otherwise decide every later question too.
    """
    return f"{action}-r{round_}"


# Every registered function but the deal saga's activities (see shared.sync.deal_saga.ACTIVITIES) and its
# trigger type, for the wiring test.
REGISTERED: dict[str, str] = {
    DEAL_SYNC: "orchestrationTrigger",
    BATCH_SYNC: "orchestrationTrigger",
    INVOICE_PAID: "orchestrationTrigger",
    PAID_INVOICE_BATCH: "orchestrationTrigger",
    START_PAID_INVOICES: "activityTrigger",
    READ_PAID_INVOICES: "activityTrigger",
    DELIVER_INVOICE_READS: "activityTrigger",
    WEBHOOK_BATCH: "orchestrationTrigger",
    DEAL_CHANGE: "orchestrationTrigger",
    LIFE_EVENT_BATCH: "orchestrationTrigger",
    BATCH_FLUSHER: "orchestrationTrigger",
    RUN_BATCH: "activityTrigger",
    DELIVER_BATCH: "activityTrigger",
    WAKE_FLUSHER: "activityTrigger",
    BATCH_QUEUE: "entityTrigger",
    READ_LIFE_EVENT: "activityTrigger",
    APPLY_LIFE_EVENT: "activityTrigger",
    START_LIFE_EVENTS: "activityTrigger",
    START_DEAL_SYNCS: "activityTrigger",
    MARK_DEAL_PAID: "activityTrigger",
    FIND_DEALS: "activityTrigger",
    SYNC_CURSOR: "entityTrigger",
    RECORD_TRANSACTION: "activityTrigger",
    CHECK_MAPPING: "activityTrigger",
    SYNC_TRANSACTION: "entityTrigger",
    HEALTH: "httpTrigger",
    HUBSPOT_WEBHOOK: "httpTrigger",
    XERO_WEBHOOK: "httpTrigger",
    START_SYNC: "httpTrigger",
    LIST_TRANSACTIONS: "httpTrigger",
    GET_TRANSACTION: "httpTrigger",
    TRANSACTION_ACTION: "httpTrigger",
    LIST_BATCHES: "httpTrigger",
    GET_BATCH: "httpTrigger",
    STATUS_PAGE: "httpTrigger",
    XERO_CONNECT: "httpTrigger",
    XERO_CALLBACK: "httpTrigger",
    XERO_DISCONNECT: "httpTrigger",
    XERO_STATUS: "httpTrigger",
    SCHEDULED_SYNC: "timerTrigger",
    PURGE_HISTORY: "timerTrigger",
}
