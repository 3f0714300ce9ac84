"""HubSpot's batch update of deals' sync markers: the request body, and which inputs a refusal names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from shared.connectors.hubspot_mapping import MARKER_PROPERTIES
from shared.domain.errors import BusinessRejection, PermanentError

SERVICE = "hubspot"
MAX_BATCH_UPDATE = 100  # HubSpot's limit of inputs per batch call

__all__ = ["MAX_BATCH_UPDATE", "marker_batch_body", "refusal", "refused_ids"]


def marker_batch_body(updates: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """``{"inputs": [{"id", "properties"}]}`` for the deals that have markers to write."""
    if len(updates) > MAX_BATCH_UPDATE:
        raise PermanentError(f"a batch update takes at most {MAX_BATCH_UPDATE} deals, not {len(updates)}",
                             service=SERVICE, code="batch_too_large")
    unknown = sorted({k for values in updates.values() for k in values} - set(MARKER_PROPERTIES))
    if unknown:
        raise PermanentError(f"unknown sync marker(s): {', '.join(unknown)}", service=SERVICE,
                             code="unknown_marker")
    return {"inputs": [{"id": deal_id, "properties": {MARKER_PROPERTIES[k]: v for k, v in values.items()}}
                       for deal_id, values in updates.items() if values]}


def refused_ids(response: httpx.Response, sent: list[str]) -> list[str]:
    """The sent deal ids an answer names as refused (``errors[].context.ids``, or ids in its ``context``)."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    contexts = [body.get("context")] + [e.get("context") for e in body.get("errors") or [] if isinstance(e, dict)]
    named: list[str] = []
    for context in contexts:
        ids = context.get("ids") if isinstance(context, dict) else None
        named += [str(i) for i in ids] if isinstance(ids, list) else []
    return [i for i in dict.fromkeys(named) if i in sent]


def refusal(response: httpx.Response, sent: list[str]) -> BusinessRejection:
    """An all-or-nothing refusal (nothing written): which deals it names, if any, for the caller to split on."""
    try:
        body = response.json()
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
    except ValueError:
        message = ""
    named = refused_ids(response, sent)
    return BusinessRejection(
        f"HubSpot refused the batch update of {len(sent)} deals: {message or response.reason_phrase}"[:1000],
        service=SERVICE, code="batch_rejected", status=response.status_code, details={"ids": named})
