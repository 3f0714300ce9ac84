"""HubSpot's queries: CRM search (filters, sorts, the 10,000 cap) and the CRM GraphQL API."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulators.hubspot.graphql_api import execute as execute_graphql
from simulators.hubspot.rules import HubSpotRules
from simulators.hubspot.search import SearchError, matches, sort_key
from simulators.wire import json_response, read_json

__all__ = ["SearchRoutes"]


class SearchRoutes(HubSpotRules):
    """The handlers of ``POST .../{type}/search`` and ``POST /collector/graphql``."""

    async def search(self, request: web.Request) -> web.Response:
        t = self._type(request)
        if t is None:
            return self.fail(404, "Unknown object type")
        body = await read_json(request) or {}
        limit = int(body.get("limit", 10))
        if not 0 < limit <= 200:
            return self.fail(400, "limit must be between 1 and 200", "VALIDATION_ERROR")
        cap = int(self.config["search_cap"])
        after = int(body.get("after") or 0)
        if after >= cap:
            return self.fail(
                400,
                f"The search API is limited to {cap} results; use filters to narrow it down.",
                "VALIDATION_ERROR",
            )
        try:
            found = [
                o
                for o in self.objects[t].values()
                if not o["archived"] and matches(body.get("filterGroups") or [], o["properties"])
            ]
        except SearchError as exc:
            return self.fail(400, str(exc), "VALIDATION_ERROR")
        found.sort(key=lambda o: int(o["id"]))
        for sort in reversed(body.get("sorts") or []):
            if isinstance(sort, str):
                prop, desc = sort.lstrip("-"), sort.startswith("-")
            else:
                prop, desc = sort.get("propertyName", "hs_object_id"), sort.get("direction") == "DESCENDING"

            def by(o: dict[str, Any], p: str = str(prop)) -> tuple[int, Any]:
                return sort_key(p, o["properties"])

            found.sort(key=by, reverse=desc)
        end = min(after + limit, cap)
        page = found[after:end]
        out: dict[str, Any] = {
            "total": len(found),
            "results": [self.render(t, o, body.get("properties") or None) for o in page],
        }
        if end < len(found) and end < cap:
            out["paging"] = {"next": {"after": str(end)}}
        return json_response(out)

    async def graphql(self, request: web.Request) -> web.Response:
        if not self.config.get("graphql"):
            return self.fail(
                403,
                "This app hasn't been granted all required scopes to make this call. "
                "Read more about required scopes here: https://developers.hubspot.com/scopes.",
                "MISSING_SCOPES",
                errors=[{"message": "One or more of the following scopes are required.",
                         "context": {"requiredGranularScopes": ["collector.graphql_query.execute"]}}],
            )
        status, body = execute_graphql(self, await read_json(request))
        return json_response(body, status)
