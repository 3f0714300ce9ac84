"""The HubSpot CRM simulator: objects, associations (v3 on create, v4), search, properties, webhooks.

Real paths, status codes and error bodies (``{status, message, correlationId, category}``). Webhooks as
HubSpot delivers them (batched, at least once, out of order, retried): ``POST /_sim/webhooks/subscription``
(see ``simulators.hubspot.webhooks``), each POST then listed by ``GET /_sim/webhooks/deliveries``. The simpler
target of ``POST /_sim/webhooks`` ``{"url": ..., "secret": ...}`` gets each deal creation and dealstage change
in a signed POST of its own; ``POST /_sim/webhooks/send`` sends given events at once. Searches are limited
to ``search_per_second`` per account (HubSpot: about 5), with HubSpot's 429.
``PATCH /_sim/hubspot/objects/{type}/{id}`` writes raw property values
without validation (bad data as an import would leave it). ``DELETE /crm/v3/objects/{type}/{id}`` archives
the object, as HubSpot's delete does: it is 404 to reads and writes from then on.
"""

from __future__ import annotations

from aiohttp import web

from simulators.hubspot.access import HubSpotAccess
from simulators.hubspot.admin import HubSpotAdmin
from simulators.hubspot.routes_associations import AssociationRoutes
from simulators.hubspot.routes_objects import ObjectRoutes
from simulators.hubspot.routes_properties import PropertyRoutes
from simulators.hubspot.routes_search import SearchRoutes

__all__ = ["HubSpotSim"]


class HubSpotSim(ObjectRoutes, SearchRoutes, AssociationRoutes, PropertyRoutes, HubSpotAdmin, HubSpotAccess):
    """The HubSpot simulator: the portal (``HubSpotStore``) with its routes, admin endpoints and access checks."""

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/collector/graphql", self.graphql)
        # Date-based paths (``/crm/objects/2026-09/deals``), and the numeric ones they replace
        # (``/crm/v3/objects/deals``), on the same handlers: ``check_version`` decides what is served.
        for objects, properties, assoc_v4 in (
            ("/crm/objects/{version:20[0-9]{2}-[0-9]{2}}", "/crm/properties/{version:20[0-9]{2}-[0-9]{2}}",
             "/crm/objects/{version:20[0-9]{2}-[0-9]{2}}"),
            ("/crm/{version:v3}/objects", "/crm/{version:v3}/properties", "/crm/{version:v4}/objects"),
        ):
            r.add_post(objects + "/{type}/search", self.search)
            r.add_post(objects + "/{type}/batch/read", self.batch_read)
            r.add_post(objects + "/{type}/batch/update", self.batch_update)
            r.add_post(objects + "/{type}", self.create)
            r.add_get(objects + "/{type}", self.list_objects)
            r.add_get(objects + "/{type}/{id}", self.get_object)
            r.add_patch(objects + "/{type}/{id}", self.patch_object)
            r.add_delete(objects + "/{type}/{id}", self.delete_object)
            r.add_get(assoc_v4 + "/{type}/{id}/associations/{to}", self.get_associations)
            r.add_put(assoc_v4 + "/{type}/{id}/associations/default/{to}/{to_id}", self.put_default_association)
            r.add_put(assoc_v4 + "/{type}/{id}/associations/{to}/{to_id}", self.put_association)
            r.add_get(properties + "/{type}", self.list_properties)
            r.add_post(properties + "/{type}", self.create_property)
            r.add_post(properties + "/{type}/groups", self.create_group)
            r.add_get(properties + "/{type}/{name}", self.get_property)
        r.add_post("/crm/associations/{version:20[0-9]{2}-[0-9]{2}}/{type}/{to}/batch/read",
                   self.batch_read_associations)
        r.add_post("/crm/{version:v4}/associations/{type}/{to}/batch/read", self.batch_read_associations)
        r.add_get("/_sim/hubspot/paths", self.admin_paths)
        r.add_delete("/_sim/hubspot/paths", self.admin_clear_paths)
        r.add_post("/_sim/webhooks", self.admin_webhooks)
        r.add_post("/_sim/webhooks/send", self.admin_send_webhooks)
        r.add_post("/_sim/webhooks/subscription", self.admin_subscribe)
        r.add_get("/_sim/webhooks/subscription", self.admin_subscription)
        r.add_delete("/_sim/webhooks/subscription", self.admin_unsubscribe)
        r.add_get("/_sim/webhooks/deliveries", self.admin_deliveries)
        r.add_post("/_sim/webhooks/flush", self.admin_flush)
        r.add_patch("/_sim/hubspot/objects/{type}/{id}", self.admin_raw_patch)
