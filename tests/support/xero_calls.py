"""What the app's Xero calls carried, read from the Xero simulator's request log: calls by endpoint and fill."""

from __future__ import annotations

from typing import Any

API = "/api.xro/2.0"


def _elements(call: dict[str, Any]) -> int:
    """How many records one Xero call carried: a collection body's elements, an ``IDs=`` list, a filter's ORs."""
    body = call.get("body")
    if isinstance(body, dict):
        for name in ("Invoices", "Contacts"):
            if isinstance(body.get(name), list):
                return len(body[name])
    query = call.get("query") or {}
    if query.get("IDs"):
        return len(str(query["IDs"]).split(","))
    if query.get("where"):
        return str(query["where"]).count(" OR ") + 1
    return 1


def call_breakdown(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Admitted Xero calls by method and endpoint, with how full they were: what keeps calls per deal up."""
    groups: dict[str, list[int]] = {}
    for call in calls:
        if call["status"] == 429:
            continue
        endpoint = "/".join(call["path"][len(API):].split("/")[:2])
        groups.setdefault(f"{call['method']} {endpoint}", []).append(_elements(call))
    return [{"call": name, "count": len(sizes), "records": sum(sizes), "singles": sizes.count(1),
             "largest": max(sizes)} for name, sizes in sorted(groups.items(), key=lambda g: -len(g[1]))]


def breakdown_text(calls: list[dict[str, Any]]) -> str:
    """The breakdown on one line, for a reliability report: ``PUT /Invoices=7(1 single, 50 largest) ...``."""
    return " ".join(f"{g['call'].replace(' ', '_')}={g['count']}({g['singles']}_single,{g['largest']}_largest)"
                    for g in call_breakdown(calls))
