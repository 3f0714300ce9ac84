"""Xero's checks: a contact's fields and unique name, a new invoice and its lines, status changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from simulators.xero.money import line_money, money
from simulators.xero.schema import INVOICE_STATUSES, ms_now, parse_date
from simulators.xero.state import XeroStore

__all__ = ["XeroValidation"]


class XeroValidation(XeroStore):
    """What Xero refuses, with its ValidationError messages; a checked invoice comes back ready to store."""

    def check_contact(self, data: dict[str, Any], existing_id: str | None = None) -> list[str]:
        errors = []
        name = data.get("Name")
        if existing_id is None and not name:
            errors.append("The contact name must be specified.")
        if name and len(str(name)) > 255:
            errors.append("The contact name must be 255 characters or fewer.")
        if data.get("ContactNumber") and len(str(data["ContactNumber"])) > 50:
            errors.append("The Contact Number must be 50 characters or fewer.")
        status = data.get("ContactStatus")
        if status is not None and status not in ("ACTIVE", "ARCHIVED"):
            errors.append(f"ContactStatus {status} is not valid.")
        if name and (status or "ACTIVE") == "ACTIVE":
            for other in self.contacts.values():
                if (
                    other["ContactID"] != existing_id
                    and other["ContactStatus"] == "ACTIVE"
                    and str(other.get("Name", "")).lower() == str(name).lower()
                ):
                    errors.append(
                        f"The contact name {name} is already assigned to another contact. The contact "
                        "name must be unique across all active contacts."
                    )
        return errors

    def check_invoice(self, data: dict[str, Any], unitdp: int = 2) -> tuple[list[str], dict[str, Any] | None]:
        """Validate one invoice of a PUT; return (messages, a record ready to store).

        ``unitdp`` is the request's ``unitdp`` query parameter: unit prices are kept to 4 decimals with 4, else 2.
        """
        errors: list[str] = []
        if data.get("Type") not in ("ACCREC", "ACCPAY"):
            errors.append("Invoice Type must be ACCREC or ACCPAY.")
        contact_id = str((data.get("Contact") or {}).get("ContactID") or "")
        contact = self.contacts.get(contact_id)
        if contact is None:
            errors.append(
                "A Contact must be specified for this type of transaction."
                if not contact_id
                else f"The contact with ContactID {contact_id} does not exist."
            )
        elif contact["ContactStatus"] == "ARCHIVED":
            errors.append("The contact is archived; archived contacts cannot be used on new transactions.")
        status = data.get("Status", "DRAFT")
        if status not in INVOICE_STATUSES:
            errors.append(f"Invoice Status {status} is not valid for a new invoice.")
        currency = data.get("CurrencyCode", "USD")
        if currency not in self.org.currencies:
            errors.append(f"The currency code {currency} is not subscribed for this organisation.")
        lat = data.get("LineAmountTypes", "Exclusive")
        if lat not in ("Exclusive", "Inclusive", "NoTax"):
            errors.append(f"LineAmountTypes {lat} is not valid.")
        try:
            issued = parse_date(data.get("Date")) or date.today()
            due = parse_date(data.get("DueDate")) or issued
        except ValueError:
            errors.append("Date and DueDate must be dates (YYYY-MM-DD).")
            issued = due = date.today()
        if due < issued:
            errors.append("Due Date must not be before the invoice Date.")
        number = data.get("InvoiceNumber")
        if number and any(i.get("InvoiceNumber") == number for i in self.invoices.values()):
            errors.append("Invoice # must be unique.")
        lines = data.get("LineItems") or []
        if status != "DRAFT" and not lines:
            errors.append("An invoice must have at least one line item.")
        rendered_lines, sub, tax = [], Decimal("0"), Decimal("0")
        for n, line in enumerate(lines, 1):
            try:
                qty = Decimal(str(line.get("Quantity", "1")))
                unit = Decimal(str(line.get("UnitAmount", "0")))
                disc = Decimal(str(line.get("DiscountRate") or "0"))
                disc_amount = Decimal(str(line.get("DiscountAmount") or "0"))
                given_tax = None if line.get("TaxAmount") is None else Decimal(str(line["TaxAmount"]))
            except InvalidOperation:
                errors.append(f"Line {n}: Quantity, UnitAmount, DiscountRate and DiscountAmount must be numbers.")
                continue
            if disc and disc_amount:
                errors.append(f"Line {n}: a line may have a DiscountRate or a DiscountAmount, not both.")
            if not str(line.get("Description") or "").strip():
                errors.append(f"Line {n}: Description needs to be at least 1 char long.")
            code = str(line.get("AccountCode") or "")
            if code not in self.org.account_codes:
                errors.append(f"Account code '{code}' is not a valid code for this document.")
            tax_type = str(line.get("TaxType") or "OUTPUT")
            if tax_type not in self.org.tax_rates:
                errors.append(
                    f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                    "of transaction."
                )
            if qty.as_tuple().exponent < -4:  # type: ignore[operator]
                errors.append(f"Line {n}: Quantity may have at most 4 decimal places.")
            rate = self.org.tax_rates.get(tax_type, Decimal("0")) if lat != "NoTax" else Decimal("0")
            figures = line_money(qty, unit, unitdp=unitdp, rate=rate, line_amount_types=lat, discount_rate=disc,
                                 discount_amount=disc_amount, tax_amount=given_tax)
            amount, line_tax = figures.line_amount, figures.tax
            sub += figures.net
            tax += line_tax
            rendered = {
                "LineItemID": self.new_id("line"),
                "Description": line.get("Description"),
                "Quantity": qty.quantize(Decimal("0.0001")),
                "UnitAmount": figures.unit,
                "AccountCode": code,
                "TaxType": tax_type,
                "TaxAmount": line_tax,
                "LineAmount": amount,
            }
            rendered.update(self.org.check_line(n, line, errors))
            if disc:
                rendered["DiscountRate"] = disc
            if disc_amount:
                rendered["DiscountAmount"] = money(disc_amount)
            rendered_lines.append(rendered)
        theme = self.org.check_invoice(data, errors)
        if errors:
            return errors, None
        record = {
            **theme,
            "Type": data["Type"],
            "InvoiceID": self.new_id("invoice"),
            "ContactID": contact_id,
            "InvoiceNumber": number or f"INV-{next(self._numbers):04d}",
            "Reference": data.get("Reference", ""),
            "Status": status,
            "LineAmountTypes": lat,
            "CurrencyCode": currency,
            "CurrencyRate": Decimal("1.0"),
            "LineItems": rendered_lines,
            "SubTotal": money(sub),
            "TotalTax": money(tax),
            "Total": money(sub + tax),
            "AmountPaid": Decimal("0.00"),
            "AmountCredited": Decimal("0.00"),
            "Payments": [],
            "CreditNotes": [],
            "Prepayments": [],
            "Overpayments": [],
            "HasErrors": False,
            "IsDiscounted": any(ln.get("DiscountRate") or ln.get("DiscountAmount") for ln in rendered_lines),
            "HasAttachments": False,
            "SentToContact": False,
            "UpdatedDateUTC": ms_now(),
            "_date": issued,
            "_due": due,
        }
        return [], record

    def transition(self, inv: dict[str, Any], target: str) -> str | None:
        """Why ``inv`` cannot move to ``target`` (None if it can): Xero's invoice status rules."""
        current = inv["Status"]
        if current == target:
            return None
        if current in ("VOIDED", "DELETED"):
            return f"This document cannot be edited as it has been {current.lower()}."
        if inv["AmountPaid"] > 0 or current == "PAID":
            return "This document cannot be edited as it has a payment or credit note allocated to it."
        if target == "DELETED" and current not in ("DRAFT", "SUBMITTED"):
            return "Only DRAFT and SUBMITTED invoices can be deleted; void an AUTHORISED invoice instead."
        if target == "VOIDED" and current != "AUTHORISED":
            return "Only AUTHORISED invoices can be voided; delete a DRAFT or SUBMITTED invoice instead."
        if (
            target in ("DRAFT", "SUBMITTED", "AUTHORISED")
            and current == "AUTHORISED"
            and target != "AUTHORISED"
        ):
            return "An AUTHORISED invoice cannot go back to DRAFT or SUBMITTED."
        if target == "PAID":
            return "Invoice Status PAID is set by payments, not by an update."
        return None
