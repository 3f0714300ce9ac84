"""What the saga acceptance tests share: simulator snapshots without audit fields, and where a saga ended.

"Both systems as they were" is judged on the simulators' own state, read through their admin API,
with only the fields that any write changes removed (timestamps, request logs, idempotency records,
token counts). Two Xero facts are kept visible and checked by the tests instead of being hidden:

- Xero has no way to delete a contact through the API; archiving is the only undo. A contact that
  the failed transaction created must end ARCHIVED: ``xero_live`` leaves out ARCHIVED contacts
  that did not exist before, and the tests assert separately that such a contact is ARCHIVED.
- An AUTHORISED invoice cannot be deleted, only voided (a DRAFT is deleted). ``xero_live`` leaves
  out VOIDED/DELETED invoices created by the saga, and the tests assert their status.

HubSpot treats an empty string as "no value" (clearing a property), so a property the undo set
back to ``""`` equals one that was never set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.e2e.conftest import POLICY, Stack

HUBSPOT_AUDIT = {"hs_lastmodifieddate", "lastmodifieddate", "updatedAt"}
XERO_CONTACT_AUDIT = {"UpdatedDateUTC"}
XERO_INVOICE_AUDIT = {"UpdatedDateUTC"}
GONE_INVOICE = {"VOIDED", "DELETED"}
XERO_API = "/api.xro/2.0"


def hubspot_data(stack: Stack) -> dict[str, Any]:
    """Every CRM object's properties and every association, without audit fields or empty values."""
    state = stack.sims.hubspot.state()
    objects = {
        kind: {
            obj_id: {k: v for k, v in obj["properties"].items() if k not in HUBSPOT_AUDIT and v not in (None, "")}
            | {"archived": obj.get("archived", False)}
            for obj_id, obj in items.items()
        }
        for kind, items in state["objects"].items()
    }
    return {"objects": objects, "associations": state["associations"]}


ROLLBACK_NOTE = "invoice_sync_error"  # the deal's error marker: the one thing a rollback leaves on the deal


def assert_hubspot_put_back(stack: Stack, before: dict[str, Any], deal_id: str, step: str) -> None:
    """HubSpot is as ``before`` but for the deal's one-line note saying at which step and why it was rolled back."""
    after = hubspot_data(stack)
    note = str(after["objects"]["deals"][deal_id].pop(ROLLBACK_NOTE, ""))
    assert after == before
    assert note.startswith(f"Not invoiced, rolled back at {step}: ") and "\n" not in note, note


def xero_data(stack: Stack) -> dict[str, Any]:
    state = stack.sims.xero.state()
    return {
        "contacts": {c["ContactID"]: {k: v for k, v in c.items() if k not in XERO_CONTACT_AUDIT}
                     for c in state["contacts"]},
        "invoices": {i["InvoiceID"]: {k: v for k, v in i.items() if k not in XERO_INVOICE_AUDIT}
                     for i in state["invoices"]},
    }


def xero_live(stack: Stack, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """Xero's state with what the API can only archive or void (and was not there ``before``) left out."""
    data = xero_data(stack)
    old = before or {"contacts": {}, "invoices": {}}
    data["contacts"] = {k: v for k, v in data["contacts"].items()
                        if k in old["contacts"] or v.get("ContactStatus") != "ARCHIVED"}
    data["invoices"] = {k: v for k, v in data["invoices"].items()
                        if k in old["invoices"] or v.get("Status") not in GONE_INVOICE}
    return data


def deal_props(stack: Stack, deal_id: str) -> dict[str, Any]:
    return dict(stack.sims.hubspot.state()["objects"]["deals"][deal_id]["properties"])


def invoices(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.sims.xero.state()["invoices"])


def contacts(stack: Stack) -> list[dict[str, Any]]:
    return list(stack.sims.xero.state()["contacts"])


def start_deal(stack: Stack, deal_id: str, **policy: Any) -> str:
    tx = f"deal-{deal_id}"
    stack.client.start("deal_sync", {"deal_id": deal_id, "trigger": "test", "policy": {**POLICY, **policy}}, tx)
    return tx


def ledger_row(stack: Stack, deal_id: str) -> dict[str, Any]:
    """The full ledger row of the deal's only transaction."""
    rows = stack.ledger_rows(deal_id)
    assert len(rows) == 1, rows
    full = stack.ledger.get(rows[0]["id"], rows[0]["started_at"])
    assert full is not None
    return full


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def wait_custom_status(stack: Stack, tx: str, status: str, timeout: float = 30) -> dict[str, Any]:
    """Wait until the running orchestration reports ``status`` (e.g. needs_attention) and the ledger says so."""
    def reached() -> dict[str, Any] | None:
        current = stack.client.status(tx)
        custom = (current or {}).get("customStatus") or {}
        return current if isinstance(custom, dict) and custom.get("status") == status else None

    return dict(wait_for(f"{tx} to be {status}", reached, timeout))


def faulted(stack_admin_requests: list[dict[str, Any]], method: str, path_part: str) -> int:
    """How many requests matching ``method`` and ``path_part`` a simulator answered with an injected fault."""
    return sum(1 for r in stack_admin_requests if r["fault"] and r["method"] == method and path_part in r["path"])


def host_log_lines(stack: Stack) -> list[str]:
    """Everything devhost and the app's workers logged so far (stderr and stdout)."""
    return stack.host.stderr_text().splitlines() + list(stack.host._stdout_lines)
