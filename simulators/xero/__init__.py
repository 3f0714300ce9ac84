"""The Xero Accounting API simulator (``XeroSim``), one module per concern; see ``simulators.xero.sim``."""

from simulators.xero.sim import XeroSim

__all__ = ["XeroSim"]
