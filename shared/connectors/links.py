"""Links for people into the vendors' apps, built without a call: one function per kind of record, so that the
deal's write-back, the status API and the page all send a person to the same page."""

from __future__ import annotations


def xero_invoice_link(app_url: str, invoice_id: str) -> str:
    """The invoice in the Xero app. Xero opens it in the organisation the person has selected (a link
    naming the organisation needs its short code, which the app does not read)."""
    return f"{app_url.rstrip('/')}/AccountsReceivable/View.aspx?InvoiceID={invoice_id}"


def hubspot_deal_link(app_url: str, portal_id: str, deal_id: str) -> str:
    """The deal's record page in HubSpot (object type 0-3 is the deal)."""
    portal = f"/{portal_id}" if portal_id else ""
    return f"{app_url.rstrip('/')}/contacts{portal}/record/0-3/{deal_id}"
