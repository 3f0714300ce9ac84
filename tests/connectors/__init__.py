"""Integration tests of the HubSpot and Xero connectors against the simulators over real HTTP."""
