"""Make CRM data through the HubSpot simulator's public API, as a HubSpot user would."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

# HubSpot-defined association type ids, by (from object, to object).
ASSOC = {("deals", "companies"): 5, ("deals", "contacts"): 3, ("deals", "line_items"): 19,
         ("contacts", "companies"): 1}


@dataclass
class WonDeal:
    deal_id: str
    company_id: str
    contact_id: str
    line_item_ids: list[str]
    lines: list[tuple[str, Decimal, Decimal]]

    @property
    def total(self) -> Decimal:
        return sum((q * p for _, q, p in self.lines), Decimal(0))


def create_object(client: httpx.Client, kind: str, properties: dict[str, str],
                  associations: Sequence[tuple[str, str]] = ()) -> str:
    """One HubSpot object, associated to others (``(type, id)`` pairs); its id."""
    body: dict[str, Any] = {"properties": properties}
    if associations:
        body["associations"] = [{"to": {"id": to_id}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": ASSOC[(kind, to_type)]}]}
            for to_type, to_id in associations]
    response = client.post(f"/crm/objects/2026-09/{kind}", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def create_won_deal(hubspot_url: str, *, company: str = "Northwind Traders", currency: str = "EUR",
                    lines: list[tuple[str, str, str]] | None = None, terms_days: int | None = 14,
                    stage: str = "closedwon", close_date: str = "2026-11-02", token: str = "test-token") -> WonDeal:
    lines = lines or [("Annual licence", "2", "1200.00"), ("Onboarding workshop", "1", "850.50")]
    with httpx.Client(base_url=hubspot_url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
        company_id = create_object(client, "companies", {"name": company, "domain": "northwind.example"})
        contact_id = create_object(client, "contacts", {"firstname": "Nancy", "lastname": "Davolio",
                                                  "email": "nancy@northwind.example"}, [("companies", company_id)])
        item_ids = [create_object(client, "line_items", {"name": name, "quantity": qty, "price": price})
                    for name, qty, price in lines]
        props = {"dealname": f"{company} renewal", "dealstage": stage, "pipeline": "default",
                 "deal_currency_code": currency, "closedate": f"{close_date}T00:00:00Z",
                 "amount": str(sum(Decimal(q) * Decimal(p) for _, q, p in lines))}
        if terms_days is not None:
            props["payment_terms_days"] = str(terms_days)
        deal_id = create_object(client, "deals", props, [("companies", company_id), ("contacts", contact_id)]
                          + [("line_items", i) for i in item_ids])
    return WonDeal(deal_id, company_id, contact_id, item_ids,
                   [(n, Decimal(q), Decimal(p)) for n, q, p in lines])
