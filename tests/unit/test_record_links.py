"""The links a person follows from the status API are the same pages the deal's write-back links to."""

from __future__ import annotations

from shared.api.transactions import _links
from shared.config import Settings
from shared.connectors.xero import XeroClient
from shared.domain.transaction import TransactionState
from tests.support.settings import sample_settings


def _settings() -> Settings:
    return Settings.model_validate(sample_settings())


def test_the_status_api_links_the_invoice_page_the_deal_links_to() -> None:
    settings = _settings()
    state = TransactionState(id="deal-7-r0", deal_id="7", external_ids={"invoice": "inv-42"})
    written_on_the_deal = XeroClient.from_settings(settings).invoice_link("inv-42")
    assert _links(state, settings)["invoice"] == written_on_the_deal


def test_a_transaction_without_an_invoice_links_only_its_deal() -> None:
    settings = _settings()
    links = _links(TransactionState(id="deal-7-r0", deal_id="7"), settings)
    assert set(links) == {"deal"} and links["deal"].endswith("/record/0-3/7")
