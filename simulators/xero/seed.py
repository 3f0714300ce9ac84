"""The Xero demo organisation: two existing customers (one archived) and one invoice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.xero.validation import XeroValidation

__all__ = ["seed_xero"]


def seed_xero(sim: XeroValidation) -> dict[str, Any]:
    """Replace the simulator's data with a demo organisation: two existing customers, one invoice."""
    sim.reset_state()
    northwind = sim.store_contact({"Name": "Northwind Traders", "EmailAddress": "accounts@northwind.example"})
    legacy = sim.store_contact({"Name": "Adventure Works (legacy)", "ContactNumber": "LEGACY-0001"})
    legacy["ContactStatus"] = "ARCHIVED"
    _errors, invoice = sim.check_invoice(
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": northwind["ContactID"]},
            "Status": "AUTHORISED",
            "Date": "2025-02-03",
            "DueDate": "2025-03-05",
            "CurrencyCode": "USD",
            "Reference": "manual-2025-001",
            "LineItems": [
                {
                    "Description": "Consulting (February)",
                    "Quantity": "8",
                    "UnitAmount": "150.00",
                    "AccountCode": "200",
                    "TaxType": "NONE",
                }
            ],
        }
    )
    assert invoice is not None
    sim.invoices[invoice["InvoiceID"]] = invoice
    return {
        "seed": "demo",
        "contacts": [northwind["ContactID"], legacy["ContactID"]],
        "invoices": [invoice["InvoiceID"]],
    }
