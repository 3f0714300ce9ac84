"""Connectors: the CRM and accounting ports and their HubSpot and Xero adapters."""
