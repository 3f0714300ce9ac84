"""Row layout of the ledger table: how a transaction maps to keys and columns (pure, unit-tested).

- Time rows: PartitionKey = the UTC date the transaction started (``2026-11-23``), RowKey = inverted
  milliseconds + transaction id, so a partition lists newest first and a time window is a few
  partitions, each read with a RowKey range: no table scan.
- Deal rows: PartitionKey = ``deal-<deal id>``, RowKey = transaction id: the lookup by deal.
- Decision rows: PartitionKey = ``decision-<transaction id>``, RowKey = ``r<round>``: a person's retry or
  compensate for that round, inserted once (the table refuses a second insert of the same keys).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.domain.transaction import TransactionState

MAX_MS = 10**13 - 1  # beyond year 2286: inverted values stay 13 digits and sort as text
MAX_COLUMN_CHARS = 30_000  # Azure Tables: 64 KiB per string property (UTF-16), one entity 1 MiB


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def inverted(at: datetime) -> str:
    return f"{MAX_MS - int(at.timestamp() * 1000):013d}"


def time_keys(tx_id: str, started_at: str) -> tuple[str, str]:
    at = parse_time(started_at)
    return at.astimezone(UTC).date().isoformat(), f"{inverted(at)}-{tx_id}"


def deal_keys(deal_id: str, tx_id: str) -> tuple[str, str]:
    return f"deal-{deal_id}", tx_id


def decision_keys(tx_id: str, round_: int) -> tuple[str, str]:
    return f"decision-{tx_id}", f"r{round_}"


def _json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= MAX_COLUMN_CHARS else json.dumps({"truncated": True, "chars": len(text)})


def to_row(state: TransactionState) -> dict[str, Any]:
    """The ledger columns of a transaction (no secrets: the state never holds any)."""
    partition, row = time_keys(state.id, state.created_at)
    reason = state.reason or {}
    return {
        "PartitionKey": partition,
        "RowKey": row,
        "TransactionId": state.id,
        "DealId": state.deal_id,
        "DealName": state.deal_name[:500],
        "Status": state.status,
        "Generation": state.generation,
        "Round": state.round,
        "Trigger": state.trigger,
        "Kind": state.kind,
        "StartedAt": state.created_at,
        "UpdatedAt": state.updated_at,
        "EndedAt": state.ended_at,
        "Amount": state.amount,
        "Currency": state.currency,
        "DealAmount": state.deal_amount,
        "AmountDifference": state.amount_difference,
        "InvoiceId": state.external_ids.get("invoice", ""),
        "InvoiceNumber": state.external_ids.get("invoice_number", ""),
        "CustomerId": state.external_ids.get("customer", ""),
        "FailedStep": state.failed_step,
        "ErrorMessage": str(reason.get("message", ""))[:2000],
        "ErrorService": str(reason.get("service", "")),
        "Steps": _json([s.model_dump() for s in state.steps]),
        "Compensations": _json([c.model_dump() for c in state.compensation_log]),
        "ExternalIds": _json(state.external_ids),
    }


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    """A ledger row as the API shows it."""

    def load(key: str) -> Any:
        try:
            return json.loads(row.get(key) or "null")
        except ValueError:
            return None

    return {
        "id": row.get("TransactionId", ""),
        "deal_id": row.get("DealId", ""),
        "deal_name": row.get("DealName", ""),
        "status": row.get("Status", ""),
        "generation": row.get("Generation", 1),
        "round": row.get("Round", 0),
        "trigger": row.get("Trigger", ""),
        "kind": row.get("Kind") or "sync",  # rows written before kinds existed are syncs
        "started_at": row.get("StartedAt", ""),
        "updated_at": row.get("UpdatedAt", ""),
        "ended_at": row.get("EndedAt", ""),
        "amount": row.get("Amount", ""),
        "currency": row.get("Currency", ""),
        "deal_amount": row.get("DealAmount", ""),
        "amount_difference": row.get("AmountDifference", ""),
        "invoice_id": row.get("InvoiceId", ""),
        "invoice_number": row.get("InvoiceNumber", ""),
        "customer_id": row.get("CustomerId", ""),
        "failed_step": row.get("FailedStep", ""),
        "error": row.get("ErrorMessage", ""),
        "error_service": row.get("ErrorService", ""),
        "steps": load("Steps") or [],
        "compensations": load("Compensations") or [],
        "external_ids": load("ExternalIds") or {},
    }
