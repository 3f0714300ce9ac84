"""The HubSpot demo portal: about 20 deals with companies, contacts and line items, in four currencies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.hubspot.state import HubSpotStore

__all__ = ["COMPANIES", "seed_hubspot"]

BASE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

# name, domain, city, country, currency, contact first, last
COMPANIES = [
    ("Northwind Traders", "northwind.example", "Seattle", "United States", "USD", "Nancy", "Davolio"),
    ("Contoso Pharmaceuticals", "contoso.example", "Boston", "United States", "USD", "Andrew", "Fuller"),
    ("Fabrikam Robotics", "fabrikam.example", "Munich", "Germany", "EUR", "Janet", "Leverling"),
    ("Tailspin Toys", "tailspin.example", "Lyon", "France", "EUR", "Margaret", "Peacock"),
    ("Wingtip Analytics", "wingtip.example", "Manchester", "United Kingdom", "GBP", "Steven", "Buchanan"),
    ("Alpine Ski House", "alpineski.example", "Edinburgh", "United Kingdom", "GBP", "Michael", "Suyama"),
    ("Coho Winery", "cohowinery.example", "Adelaide", "Australia", "AUD", "Robert", "King"),
    ("Blue Yonder Airlines", "blueyonder.example", "Sydney", "Australia", "AUD", "Laura", "Callahan"),
    ("Litware Systems", "litware.example", "Austin", "United States", "USD", "Anne", "Dodsworth"),
    ("Proseware Labs", "proseware.example", "Rotterdam", "Netherlands", "EUR", "Ivan", "Petrov"),
]

PRODUCTS = [
    ("Platform licence (annual)", "PLAT-ANN", "12000.00"),
    ("Onboarding package", "ONB-STD", "2500.00"),
    ("Premium support (annual)", "SUP-PRM", "4800.00"),
    ("Additional seats (10)", "SEAT-10", "1990.00"),
    ("Integration services (day)", "SVC-DAY", "1250.00"),
    ("Training workshop", "TRN-WS", "899.50"),
    ("Data migration", "MIG-STD", "3150.75"),
]

STAGES = [
    "closedwon",
    "contractsent",
    "closedwon",
    "qualifiedtobuy",
    "closedwon",
    "presentationscheduled",
    "closedlost",
    "closedwon",
    "decisionmakerboughtin",
    "appointmentscheduled",
]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def seed_hubspot(sim: HubSpotStore, *, app_properties: bool = True) -> dict[str, Any]:
    """Replace the simulator's data with the demo portal; returns the ids created."""
    from shared.connectors.hubspot import APP_PROPERTIES, PROPERTY_GROUP

    sim.reset_state()
    if app_properties:
        # As if ``python -m shared.connectors.hubspot setup`` had run against this portal.
        sim.groups["deals"][PROPERTY_GROUP.name] = {**PROPERTY_GROUP.model_dump(), "archived": False}
        for prop in APP_PROPERTIES:
            sim.properties["deals"][prop.name] = {**prop.model_dump(), "hubspotDefined": False, "options": []}
    created: dict[str, list[str]] = {"companies": [], "contacts": [], "deals": [], "line_items": []}
    stamp = BASE
    for i, (name, domain, city, country, _currency, first, last) in enumerate(COMPANIES):
        company = sim._store(
            "companies",
            {
                "name": name,
                "domain": domain,
                "city": city,
                "country": country,
                "address": f"{10 + i * 7} Market Street",
            },
            _ms(stamp),
        )
        contact = sim._store(
            "contacts",
            {"firstname": first, "lastname": last, "email": f"{first.lower()}.{last.lower()}@{domain}"},
            _ms(stamp),
        )
        sim.associate("contacts", contact["id"], "companies", company["id"])
        created["companies"].append(company["id"])
        created["contacts"].append(contact["id"])
    for n in range(20):
        c = n % len(COMPANIES)
        name, _domain, _city, _country, currency, _first, _last = COMPANIES[c]
        stamp = BASE + timedelta(hours=3 * n + 1)
        lines = []
        for k in range(1 + n % 3):
            title, sku, price = PRODUCTS[(n + k * 3) % len(PRODUCTS)]
            quantity = str(1 + (n + k) % 4)
            item = sim._store(
                "line_items",
                {
                    "name": title,
                    "hs_sku": sku,
                    "price": price,
                    "quantity": quantity,
                    **({"hs_discount_percentage": "10"} if (n + k) % 5 == 4 else {}),
                },
                _ms(stamp),
            )
            lines.append(item)
            created["line_items"].append(item["id"])
        # Each line's amount is net of its discount already (HubSpot derives it so).
        total = sum((Decimal(i["properties"]["amount"]) for i in lines), Decimal(0)).quantize(Decimal("0.01"))
        stage = STAGES[n % len(STAGES)]
        props = {
            "dealname": f"{name} - {['Renewal', 'Expansion', 'New business'][n % 3]} {2025 + n // 10}",
            "amount": str(total),
            "dealstage": stage,
            "pipeline": "default",
            "deal_currency_code": currency,
            "closedate": (stamp + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        if app_properties and n % 4 == 1:
            props["payment_terms_days"] = ["14", "45", "60"][n % 3]
        deal = sim._store("deals", props, _ms(stamp))
        sim.associate("deals", deal["id"], "companies", created["companies"][c])
        sim.associate("deals", deal["id"], "contacts", created["contacts"][c])
        for item in lines:
            sim.associate("deals", deal["id"], "line_items", item["id"])
        created["deals"].append(deal["id"])
    won = [d for d in created["deals"] if sim.objects["deals"][d]["properties"]["dealstage"] == "closedwon"]
    return {"seed": "demo", **created, "closedwon": won}
