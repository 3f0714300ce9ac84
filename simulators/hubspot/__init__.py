"""The HubSpot CRM simulator (``HubSpotSim``), one module per concern; see ``simulators.hubspot.sim``."""

from simulators.hubspot.schema import ASSOCIATION_TYPES
from simulators.hubspot.sim import HubSpotSim

__all__ = ["ASSOCIATION_TYPES", "HubSpotSim"]
