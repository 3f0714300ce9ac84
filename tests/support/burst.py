"""A webhook burst as HubSpot sends one: won deals in bulk, their events, duplicates of every kind, in batches.

Shared by the burst reliability test and ``bench/webhook_latency.py``, so that both measure the same burst.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.support.crm_data import create_object

DEALS = 300
COMPANIES = 100  # three deals each: concurrent deals of one company must share one Xero contact
EVENTS = 1000
BATCH = 100


def seed_won_deals(hubspot_url: str, count: int, label: str, *, companies: int | None = None) -> list[str]:
    """``count`` won deals (USD, one line each) spread over ``companies`` companies (default: one each),
    each company with one contact; returns the deal ids. Deals of one company share one Xero contact."""
    companies = companies or count
    with httpx.Client(base_url=hubspot_url, headers={"Authorization": "Bearer seed"}, timeout=30) as http:
        def company(i: int) -> tuple[str, str]:
            company_id = create_object(http, "companies", {"name": f"{label} {i:04d}", "domain": f"c{i}.example"})
            contact_id = create_object(http, "contacts", {"firstname": "Pat", "lastname": f"Buyer {i}",
                                                          "email": f"pat{i}@c{i}.example"}, [("companies", company_id)])
            return company_id, contact_id

        def deal(i: int) -> str:
            company_id, contact_id = owners[i % companies]
            item = create_object(http, "line_items", {"name": "Licence", "quantity": "1", "price": f"{100 + i}.00"})
            return create_object(http, "deals", {
                "dealname": f"{label} deal {i}", "dealstage": "closedwon", "pipeline": "default",
                "deal_currency_code": "USD", "closedate": "2026-11-02T00:00:00Z", "amount": f"{100 + i}.00",
                "payment_terms_days": "14",
            }, [("companies", company_id), ("contacts", contact_id), ("line_items", item)])

        with ThreadPoolExecutor(8) as pool:
            owners = list(pool.map(company, range(companies)))
            return list(pool.map(deal, range(count)))


def won_event(deal_id: str, event_id: int, *, occurred_at: int = 0, stage: str = "closedwon",
              attempt: int = 0) -> dict[str, Any]:
    """A HubSpot ``deal.propertyChange`` event: the deal moved to ``stage``."""
    return {"eventId": event_id, "subscriptionId": 1, "portalId": 1000001, "appId": 1,
            "occurredAt": occurred_at or int(time.time() * 1000), "subscriptionType": "deal.propertyChange",
            "attemptNumber": attempt, "objectId": int(deal_id), "propertyName": "dealstage",
            "propertyValue": stage, "changeSource": "CRM_UI"}


def created_event(deal_id: str, event_id: int, *, occurred_at: int = 0) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionId": 2, "portalId": 1000001, "appId": 1,
            "occurredAt": occurred_at or int(time.time() * 1000), "subscriptionType": "deal.creation",
            "attemptNumber": 0, "objectId": int(deal_id), "changeSource": "CRM_UI"}


def burst_events(deal_ids: list[str], rng: random.Random) -> tuple[list[list[dict[str, Any]]], Counter[str]]:
    """``EVENTS`` events in batches of ``BATCH``: every deal's won event once, then duplicates of every kind.

    The last batch holds duplicates only: it is delivered late, after every transaction ended.
    """
    ids = iter(range(5_000_000, 6_000_000))
    base = int(time.time() * 1000) - 60_000
    firsts = [won_event(d, next(ids), occurred_at=base + i) for i, d in enumerate(deal_ids)]
    extras: list[tuple[str, dict[str, Any]]] = []
    for event in rng.sample(firsts, 250):  # the same event again, as a retried delivery
        extras.append(("same_event_id", {**event, "attemptNumber": 1}))
    for deal in rng.sample(deal_ids, 150):  # the stage set to won a second time: a new event id
        extras.append(("new_event_id", won_event(deal, next(ids), occurred_at=base + 10_000)))
    for deal in rng.sample(deal_ids, 100):  # the deal's creation, delivered after it was won
        extras.append(("creation", created_event(deal, next(ids), occurred_at=base - 50_000)))
    for deal in rng.sample(deal_ids, EVENTS - len(firsts) - len(extras)):  # an older stage, delivered late
        extras.append(("stale_stage", won_event(deal, next(ids), occurred_at=base - 30_000, stage="contractsent")))
    assert len(firsts) + len(extras) == EVENTS
    rng.shuffle(extras)
    late, early = extras[:BATCH], extras[BATCH:]
    mixed = firsts + [e for _, e in early]
    rng.shuffle(mixed)
    batches = [mixed[i:i + BATCH] for i in range(0, len(mixed), BATCH)] + [[e for _, e in late]]
    assert [len(b) for b in batches] == [BATCH] * (EVENTS // BATCH)
    return batches, Counter(kind for kind, _ in extras)
