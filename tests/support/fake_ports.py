"""In-memory CRM and accounting ports for pure unit tests of the saga's logic (the real ones are tested
against the simulators over HTTP)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.connectors.ports import DealPage
from shared.domain.errors import BusinessRejection, PermanentError
from shared.domain.invoice_edits import InvoiceContent
from shared.domain.invoice_mapping import lines_total
from shared.domain.models import (
    Company,
    Customer,
    CustomerRef,
    Deal,
    DealSnapshot,
    InvoiceDraft,
    InvoiceRef,
    LineItem,
    Person,
    SyncMarkers,
    UndoOutcome,
)


class Faults:
    def __init__(self) -> None:
        self.plan: dict[str, list[Exception]] = {}

    def add(self, method: str, *errors: Exception) -> None:
        self.plan.setdefault(method, []).extend(errors)

    def check(self, method: str) -> None:
        queue = self.plan.get(method)
        if queue:
            raise queue.pop(0)


class FakeCrm:
    def __init__(self) -> None:
        self.deals: dict[str, Deal] = {}
        self.items: dict[str, LineItem] = {}
        self.companies: dict[str, Company] = {}
        self.faults = Faults()
        self.calls = 0
        self.log: list[str] = []
        self.paid: dict[str, tuple[date, str]] = {}
        self.combined_read = False  # True: the deal snapshot carries lines, company and contact (GraphQL)

    def add_won_deal(self, deal_id: str = "501", company_id: str = "77") -> Deal:
        self.companies[company_id] = Company(id=company_id, name=f"Company {company_id}", email="ap@example.com")
        self.items[f"{deal_id}-1"] = LineItem(id=f"{deal_id}-1", name="Seats", quantity=Decimal(3),
                                              unit_price=Decimal("40.00"))
        deal = Deal(id=deal_id, name=f"Deal {deal_id}", stage="closedwon", currency="EUR",
                    company_ids=(company_id,), line_item_ids=(f"{deal_id}-1",))
        self.deals[deal_id] = deal
        return deal

    def _call(self, method: str) -> None:
        self.calls += 1
        self.log.append(method)
        self.faults.check(method)

    def get_deal(self, deal_id: str) -> Deal:
        self._call("get_deal")
        if deal_id not in self.deals:
            raise PermanentError(f"deal {deal_id} not found", service="hubspot", code="not_found", status=404)
        return self.deals[deal_id]

    def get_deal_snapshot(self, deal_id: str) -> DealSnapshot:
        """The deal alone (HubSpot over REST), or with ``combined_read`` everything in one call (GraphQL)."""
        if not self.combined_read:
            return DealSnapshot(deal=self.get_deal(deal_id))
        self._call("get_deal_snapshot")
        deal = self.deals[deal_id]
        return DealSnapshot(deal=deal, line_items=tuple(self.items[i] for i in deal.line_item_ids),
                            company=self.companies[deal.company_ids[0]], first_contact=None)

    def get_line_items(self, ids: Sequence[str]) -> list[LineItem]:
        self._call("get_line_items")
        return [self.items[i] for i in ids]

    def get_company(self, company_id: str) -> Company:
        self._call("get_company")
        return self.companies[company_id]

    def get_person(self, contact_id: str) -> Person:
        self._call("get_person")
        return Person(id=contact_id)

    def search_deals(self, since: datetime, stage: str, after: str | None = None, limit: int = 100) -> DealPage:
        return DealPage()

    def update_markers(self, deal_id: str, values: Mapping[str, str]) -> None:
        self._call("update_markers")
        deal = self.deals[deal_id]
        merged = SyncMarkers(**{**deal.markers.model_dump(), **values})
        self.deals[deal_id] = deal.model_copy(update={"markers": merged})

    def mark_paid(self, deal_id: str, paid_on: date, invoice_id: str) -> None:
        self._call("mark_paid")
        self.paid[deal_id] = (paid_on, invoice_id)


class FakeAccounting:
    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, Any] = {}
        self.faults = Faults()
        self.reads: list[list[str]] = []  # the id lists ``get_invoices`` was asked for, one per call

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy({"customers": self.customers, "invoices": self.invoices})

    def find_customer(self, external_id: str, *, include_archived: bool = False) -> CustomerRef | None:
        self.faults.check("find_customer")
        for c in self.customers.values():
            if c["external_id"] == external_id and (c["status"] == "ACTIVE" or include_archived):
                return CustomerRef(id=c["id"], external_id=external_id, name=c["name"], status=c["status"])
        return None

    def get_customers(self, ids: Sequence[str]) -> dict[str, CustomerRef]:
        self.faults.check("get_customers")
        return {i: CustomerRef(id=i, external_id=c["external_id"], name=c["name"], status=c["status"])
                for i in ids if (c := self.customers.get(i)) is not None}

    def find_customers_named(self, name: str) -> list[CustomerRef]:
        return [CustomerRef(id=c["id"], external_id=c["external_id"], name=c["name"])
                for c in self.customers.values() if c["name"].lower() == name.lower() and c["status"] == "ACTIVE"]

    def reactivate_customer(self, customer_id: str) -> CustomerRef:
        self.customers[customer_id]["status"] = "ACTIVE"
        c = self.customers[customer_id]
        return CustomerRef(id=c["id"], external_id=c["external_id"], name=c["name"])

    def create_customer(self, customer: Customer, idempotency_key: str) -> CustomerRef:
        self.faults.check("create_customer")
        if idempotency_key not in self.keys:
            if any(c["name"].lower() == customer.name.lower() and c["status"] == "ACTIVE"
                   for c in self.customers.values()):
                raise BusinessRejection(f"The contact name {customer.name} is already assigned to another contact",
                                        service="xero", code="validation")
            cid = f"C{len(self.customers) + 1}"
            self.customers[cid] = {"id": cid, "external_id": customer.external_id, "name": customer.name,
                                   "status": "ACTIVE"}
            self.keys[idempotency_key] = cid
        c = self.customers[self.keys[idempotency_key]]
        return CustomerRef(id=c["id"], external_id=c["external_id"], name=c["name"])

    def archive_customer(self, customer_id: str) -> None:
        self.faults.check("archive_customer")
        if customer_id in self.customers:
            self.customers[customer_id]["status"] = "ARCHIVED"

    def create_invoice(self, draft: InvoiceDraft, idempotency_key: str) -> InvoiceRef:
        self.faults.check("create_invoice")
        if idempotency_key not in self.keys:
            iid = f"I{len(self.invoices) + 1}"
            self.invoices[iid] = {"id": iid, "number": f"INV-{len(self.invoices) + 1:04d}", "status": draft.status,
                                  "reference": draft.reference, "customer": draft.customer_id,
                                  "lines": draft.lines, "currency": draft.currency, "paid": Decimal(0)}
            self.keys[idempotency_key] = iid
        return self._ref(self.keys[idempotency_key])

    def _ref(self, iid: str) -> InvoiceRef:
        inv = self.invoices[iid]
        return InvoiceRef(id=iid, number=inv["number"], status=inv["status"], reference=inv["reference"],
                          paid_on=inv.get("paid_on"), total=inv.get("total"), amount_paid=inv.get("amount_paid"),
                          amount_due=inv.get("amount_due"))

    def get_invoice(self, invoice_id: str) -> InvoiceRef | None:
        return self._ref(invoice_id) if invoice_id in self.invoices else None

    def get_invoices(self, invoice_ids: Sequence[str]) -> dict[str, InvoiceRef]:
        self.faults.check("get_invoices")
        self.reads.append(list(invoice_ids))
        return {i: self._ref(i) for i in invoice_ids if i in self.invoices}

    def find_invoices_by_reference(self, reference: str) -> list[InvoiceRef]:
        self.faults.check("find_invoices_by_reference")
        return [self._ref(i) for i, inv in self.invoices.items() if inv["reference"] == reference]

    def find_live_invoices(self, customer_id: str) -> list[InvoiceRef]:
        self.faults.check("find_live_invoices")
        return [self._ref(i) for i, inv in self.invoices.items()
                if inv["customer"] == customer_id and inv["status"] in ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID")]

    def undo_invoice(self, invoice_id: str) -> UndoOutcome:
        self.faults.check("undo_invoice")
        inv = self.invoices.get(invoice_id)
        if inv is None:
            return "absent"
        if inv["status"] == "PAID":
            raise BusinessRejection("Invoice is PAID: issue a credit note", service="xero", code="paid")
        if inv["status"] in ("VOIDED", "DELETED"):
            return "already_gone"
        inv["status"] = "VOIDED" if inv["status"] == "AUTHORISED" else "DELETED"
        return "voided" if inv["status"] == "VOIDED" else "deleted"

    def get_invoice_content(self, invoice_id: str) -> InvoiceContent | None:
        inv = self.invoices.get(invoice_id)
        if inv is None:
            return None
        lines = inv.get("lines", ())
        ref = self._ref(invoice_id).model_copy(update={
            "currency": inv.get("currency"), "amount_paid": inv.get("paid", Decimal(0)),
            "total": lines_total(lines), "customer_id": inv["customer"]})
        return InvoiceContent(ref=ref, lines=lines, sub_total=lines_total(lines))

    def update_invoice_lines(self, invoice_id: str, draft: InvoiceDraft, idempotency_key: str) -> InvoiceRef:
        self.faults.check("update_invoice_lines")
        inv = self.invoices[invoice_id]
        if idempotency_key not in self.keys:
            if inv["status"] not in ("DRAFT", "SUBMITTED", "AUTHORISED") or inv.get("paid", 0) > 0:
                raise BusinessRejection("This document cannot be edited as it has a payment or credit note "
                                        "allocated to it.", service="xero", code="validation")
            inv["lines"] = draft.lines
            inv["edits"] = inv.get("edits", 0) + 1
            self.keys[idempotency_key] = invoice_id
        content = self.get_invoice_content(invoice_id)
        assert content is not None
        return content.ref

    def invoice_link(self, invoice_id: str) -> str:
        return f"https://acct.example/invoice/{invoice_id}"


class FakeCustomerMap:
    """The customer map in memory (company id -> customer id); ``faults`` as the fakes above."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.writes = 0
        self.faults = Faults()

    def contact_id(self, company_id: str) -> str | None:
        self.faults.check("contact_id")
        return self.rows.get(company_id)

    def record(self, company_id: str, contact_id: str) -> None:
        self.faults.check("record")
        self.writes += 1
        self.rows[company_id] = contact_id
