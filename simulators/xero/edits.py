"""Editing an invoice's lines in the Xero simulator (``POST /Invoices/{id}`` with ``LineItems``), as Xero allows it.

DRAFT, SUBMITTED and AUTHORISED invoices without payments may be edited: the lines sent replace the invoice's
(a line that carries the ``LineItemID`` of a standing line keeps that id), checked by the same rules as a new
invoice's lines, and the totals are computed again. A paid or part-paid invoice, or a voided or deleted one,
is refused with Xero's ValidationError message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.xero.validation import XeroValidation

EDITABLE = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})
TOTALS = ("SubTotal", "TotalTax", "Total", "IsDiscounted")


def edit_refusal(inv: dict[str, Any]) -> str | None:
    """Why ``inv``'s lines cannot be edited now (None if they can)."""
    if inv["AmountPaid"] > 0 or inv["Status"] == "PAID" or inv.get("AmountCredited", 0) > 0:
        return "This document cannot be edited as it has a payment or credit note allocated to it."
    if inv["Status"] not in EDITABLE:
        return f"This document cannot be edited as it has been {str(inv['Status']).lower()}."
    return None


def edit_lines(sim: XeroValidation, inv: dict[str, Any], lines: Any, unitdp: int = 2) -> list[str]:
    """Replace ``inv``'s lines with ``lines`` (a request's ``LineItems``) and recompute its totals; the
    validation messages instead, with nothing changed. ``unitdp`` is the request's, as for a new invoice."""
    refusal = edit_refusal(inv)
    if refusal:
        return [refusal]
    if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
        return ["LineItems must be a list of line items."]
    # The invoice as it stands with the new lines, checked as a new one would be (its number is its own).
    candidate = {"Type": inv["Type"], "Contact": {"ContactID": inv["ContactID"]}, "Status": inv["Status"],
                 "CurrencyCode": inv["CurrencyCode"], "LineAmountTypes": inv["LineAmountTypes"],
                 "Date": inv["_date"].isoformat(), "DueDate": inv["_due"].isoformat(), "LineItems": lines}
    errors, record = sim.check_invoice(candidate, unitdp)
    if errors or record is None:
        return errors
    standing = {line["LineItemID"] for line in inv["LineItems"]}
    for sent, rendered in zip(lines, record["LineItems"], strict=True):
        if sent.get("LineItemID") in standing:
            rendered["LineItemID"] = sent["LineItemID"]
    inv["LineItems"] = record["LineItems"]
    inv.update({key: record[key] for key in TOTALS})
    return []
