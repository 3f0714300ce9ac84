"""How a customer is named in the accounting system when its CRM name is already another customer's."""

from __future__ import annotations

MAX_NAME = 255  # Xero's limit for a contact name


def disambiguated_name(name: str, company_id: str, crm: str = "HubSpot") -> str:
    """``"Acme Ltd (HubSpot 1234)"``: readable, and the same for the same company every time (so a re-run
    finds or replays the same contact); the name is shortened, never the id, to stay within the limit."""
    suffix = f" ({crm} {company_id})"
    return name.strip()[: MAX_NAME - len(suffix)].rstrip() + suffix
