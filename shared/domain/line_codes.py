"""The codes of one invoice line: account, tax type, item code and tracking, chosen by the invoice mapping.

Pure: the same line, deal and rules give the same codes. Each code says which mapping entry chose it,
so that a code the organisation lacks is refused naming the entry a person must correct.

Precedence (most specific first): tax type by product (``hs_sku``, then ``hs_product_id``), by HubSpot tax
rate group, the mapping's default, the INVOICE_TAX_TYPE setting; account code by product, the mapping's
default, INVOICE_ACCOUNT_CODE; item code by ``item_codes_by_sku``, else the SKU itself when
``sku_as_item_code`` and the organisation has that item.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.domain.models import Deal, LineItem, Tracking

if TYPE_CHECKING:
    from shared.domain.invoice_mapping import MappingRules


@dataclass(frozen=True)
class LineCodes:
    account_code: str
    tax_type: str | None
    item_code: str | None = None
    tracking: tuple[Tracking, ...] = ()
    # The mapping entry (or setting) behind each code, for messages.
    account_source: str = "INVOICE_ACCOUNT_CODE"
    tax_source: str = "INVOICE_TAX_TYPE"
    item_source: str = ""
    tracking_sources: tuple[str, ...] = ()


def _by_product(table: dict[str, str], name: str, item: LineItem | None) -> tuple[str, str] | None:
    if item is None:
        return None
    for key in (item.sku, item.product_id):
        if key and key in table:
            return table[key], f"{name}[{json.dumps(key)}]"
    return None


def choose_line_codes(item: LineItem | None, deal: Deal, rules: MappingRules) -> LineCodes:
    """The codes for ``item`` (None: the deal's single line from its amount) of ``deal``."""
    m = rules.mapping
    account = _by_product(m.account_codes_by_product, "account_codes_by_product", item)
    if account is None and m.default_account_code:
        account = (m.default_account_code, "default_account_code")
    account_code, account_source = account or (rules.account_code, "INVOICE_ACCOUNT_CODE")

    tax = _by_product(m.tax_types_by_product, "tax_types_by_product", item)
    group = item.tax_rate_group_id if item else None
    if tax is None and group and group in m.tax_types_by_tax_group:
        tax = (m.tax_types_by_tax_group[group], f"tax_types_by_tax_group[{json.dumps(group)}]")
    if tax is None and m.default_tax_type:
        tax = (m.default_tax_type, "default_tax_type")
    tax_type, tax_source = tax or (rules.tax_type, "INVOICE_TAX_TYPE")

    item_code, item_source = None, ""
    sku = item.sku if item else None
    if sku and sku in m.item_codes_by_sku:
        item_code, item_source = m.item_codes_by_sku[sku], f"item_codes_by_sku[{json.dumps(sku)}]"
    elif sku and m.sku_as_item_code and rules.org_items is not None and sku in rules.org_items:
        item_code, item_source = sku, "sku_as_item_code"

    tracking: list[Tracking] = []
    sources: list[str] = []
    for i, rule in enumerate(m.tracking):
        option = (deal.properties.get(rule.deal_property) or "").strip()
        if option:  # a deal without the property leaves the category empty, as Xero allows
            tracking.append(Tracking(name=rule.category, option=option))
            sources.append(f"tracking[{i}] (deal property {rule.deal_property})")
    return LineCodes(account_code=account_code, tax_type=tax_type, item_code=item_code, tracking=tuple(tracking),
                     account_source=account_source, tax_source=tax_source, item_source=item_source,
                     tracking_sources=tuple(sources))
