"""The customer map on Azure Table storage: which accounting contact is a CRM company's, per organisation.

One row per (organisation, company id): PartitionKey = ``customer-<tenant id>``, RowKey = the company id,
``ContactID`` = the contact that carries the company's id. The map only remembers *which* contact: whether it
still exists and is active is read from the accounting system each time (``GET /Contacts?IDs=``), so a stale
row costs one fallback lookup, never a wrong invoice. Writes are upserts of the same values: an activity that
runs twice writes the same row twice.
"""

from __future__ import annotations

from collections.abc import Callable

from azure.core.exceptions import AzureError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode

from shared.domain.errors import TransientError
from shared.ledger.lazy_table import LazyTable

SERVICE = "storage"
# Table keys may not hold / \ # ? or control characters; a company id with one is escaped, not refused.
_FORBIDDEN = {"/": "%2F", "\\": "%5C", "#": "%23", "?": "%3F", "%": "%25"}


def _key(value: str) -> str:
    escaped = "".join(_FORBIDDEN.get(ch, ch) if ch >= " " else f"%{ord(ch):02X}" for ch in value)
    return escaped or "%00"


def map_keys(tenant_id: str, company_id: str) -> tuple[str, str]:
    return f"customer-{_key(tenant_id)}", _key(company_id)


class TableCustomerMap(LazyTable):
    """``CustomerMap`` in one Azure Table; ``tenant`` names the organisation connected now (read per call: a
    Web app may be reconnected to another organisation, whose contacts are not the old one's)."""

    def __init__(self, service: TableServiceClient, table_name: str, tenant: Callable[[], str]) -> None:
        super().__init__(service, table_name)
        self._tenant = tenant

    def contact_id(self, company_id: str) -> str | None:
        """The ContactID recorded for the company in the connected organisation; None if none."""
        pk, rk = map_keys(self._tenant(), company_id)
        try:
            row = self.table.get_entity(pk, rk, select=["ContactID"])
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise TransientError(f"customer map: {type(exc).__name__}", service=SERVICE, code="storage") from None
        return str(row.get("ContactID") or "") or None

    def record(self, company_id: str, contact_id: str) -> None:
        """Remember the company's contact (an upsert: the same call twice leaves one row)."""
        pk, rk = map_keys(self._tenant(), company_id)
        row = {"PartitionKey": pk, "RowKey": rk, "CompanyId": company_id, "ContactID": contact_id}
        try:
            self.table.upsert_entity(row, mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise TransientError(f"customer map: {type(exc).__name__}", service=SERVICE, code="storage") from None


__all__ = ["TableCustomerMap", "map_keys"]
