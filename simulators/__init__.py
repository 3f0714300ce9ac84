"""Stateful local simulators of the HubSpot CRM and Xero Accounting APIs (aiohttp), for tests and demos."""
