"""The customer map on a real Azurite: one row per organisation and company, idempotent writes."""

from __future__ import annotations

import uuid

import pytest
from azure.data.tables import TableServiceClient

from shared.domain.errors import TransientError
from shared.ledger.customer_map import TableCustomerMap
from tests.support.azurite import Azurite


@pytest.fixture
def service(azurite: Azurite) -> TableServiceClient:
    return TableServiceClient.from_connection_string(azurite.connection_string)


def test_a_row_per_organisation_and_company_written_twice_is_one_row(service: TableServiceClient) -> None:
    table, tenant = "Customers" + uuid.uuid4().hex[:10], {"id": "tenant-a"}
    customers = TableCustomerMap(service, table, tenant=lambda: tenant["id"])
    assert customers.contact_id("77") is None
    customers.record("77", "contact-1")
    customers.record("77", "contact-1")  # an activity re-run: the same row again
    assert customers.contact_id("77") == "contact-1"
    assert len(list(service.get_table_client(table).list_entities())) == 1
    customers.record("77", "contact-2")  # repaired after the contact was merged away
    assert customers.contact_id("77") == "contact-2"
    tenant["id"] = "tenant-b"  # another organisation connected: none of the old one's rows apply
    assert customers.contact_id("77") is None


def test_company_ids_a_table_key_cannot_hold_are_escaped(service: TableServiceClient) -> None:
    customers = TableCustomerMap(service, "Customers" + uuid.uuid4().hex[:10], tenant=lambda: "t")
    for odd in ("a/b", "c#d?e", "100%", "x\\y"):
        customers.record(odd, f"contact-{odd}")
    assert [customers.contact_id(o) for o in ("a/b", "c#d?e", "100%", "x\\y")] == [
        "contact-a/b", "contact-c#d?e", "contact-100%", "contact-x\\y"]


def test_storage_away_is_a_transient_error() -> None:
    conn = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;")
    service = TableServiceClient.from_connection_string(conn, retry_total=0)
    customers = TableCustomerMap(service, "Customers", tenant=lambda: "t")
    with pytest.raises(TransientError):
        customers.contact_id("77")
    with pytest.raises(TransientError):
        customers.record("77", "c")
