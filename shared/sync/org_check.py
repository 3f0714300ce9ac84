"""The invoice mapping checked against the accounting organisation: every mapped code must exist there.

The organisation's settings are read once per TTL per process (six GETs, never one per deal): at the start
of a batch, and by a deal's load step when the cache is cold. A mapping entry naming a code the
organisation lacks is refused at the start, naming the entry; a deal whose lines need a missing code
(a tracking option from its properties, its currency) is refused at load, before anything is written.
Without an ``INVOICE_MAPPING`` nothing is read: the INVOICE_* settings work as before.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from shared.domain.errors import BusinessRejection
from shared.domain.invoice_mapping import MappingRules, invoice_currency
from shared.domain.line_codes import choose_line_codes
from shared.domain.models import Deal, LineItem
from shared.domain.org_catalogue import OrgCatalogue

OrgSource = Callable[[], OrgCatalogue]
DEFAULT_TTL_SECONDS = 600.0


class OrgCache:
    """The organisation's catalogue, read at most once per ``ttl`` seconds however many deals ask (thread-safe)."""

    def __init__(self, read: OrgSource, ttl: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read, self._ttl, self._clock = read, ttl, clock
        self._lock = threading.Lock()
        self._value: OrgCatalogue | None = None
        self._at = 0.0

    def __call__(self) -> OrgCatalogue:
        # Concurrent activities wait for the one read in progress rather than each making their own.
        with self._lock:
            now = self._clock()
            if self._value is None or now - self._at >= self._ttl:
                self._value, self._at = self._read(), now
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._value = None


def _reject(message: str, code: str = "mapping_code_missing") -> BusinessRejection:
    return BusinessRejection(message, service="sync", code=code)


def _q(value: str) -> str:
    return json.dumps(value)


def mapping_problems(rules: MappingRules, org: OrgCatalogue) -> list[str]:
    """Every entry of the mapping that names a code the organisation lacks, by entry."""
    m = rules.mapping
    problems: list[str] = []

    def tax(entry: str, code: str | None) -> None:
        if code and code not in org.tax_types:
            problems.append(f"{entry}: tax type {_q(code)} is not an active tax rate of the organisation")

    def account(entry: str, code: str | None) -> None:
        if code and code not in org.account_codes:
            problems.append(f"{entry}: account code {_q(code)} is not an active account of the organisation")

    account("default_account_code" if m.default_account_code else "INVOICE_ACCOUNT_CODE",
            m.default_account_code or rules.account_code)
    tax("default_tax_type" if m.default_tax_type else "INVOICE_TAX_TYPE", m.default_tax_type or rules.tax_type)
    for key, code in m.tax_types_by_tax_group.items():
        tax(f"tax_types_by_tax_group[{_q(key)}]", code)
    for key, code in m.tax_types_by_product.items():
        tax(f"tax_types_by_product[{_q(key)}]", code)
    for key, code in m.account_codes_by_product.items():
        account(f"account_codes_by_product[{_q(key)}]", code)
    for key, code in m.item_codes_by_sku.items():
        if code not in org.item_codes:
            problems.append(f"item_codes_by_sku[{_q(key)}]: item {_q(code)} is not an item the organisation sells")
    for i, rule in enumerate(m.tracking):
        if rule.category not in org.tracking:
            problems.append(f"tracking[{i}].category: {_q(rule.category)} is not an active tracking category "
                            "of the organisation")
    if m.branding_theme and org.branding_theme_id(m.branding_theme) is None:
        problems.append(f"branding_theme: {_q(m.branding_theme)} is not a branding theme of the organisation")
    return problems


def check_mapping(rules: MappingRules, org: OrgSource | None) -> MappingRules:
    """The rules completed with what the organisation offers, or a rejection naming every bad entry.

    Without a mapping (or without an organisation to ask) the rules are returned as they are.
    """
    if rules.invalid:
        raise _reject(rules.invalid, code="invalid_mapping")
    if org is None or rules.mapping.is_empty:
        return rules
    catalogue = org()
    problems = mapping_problems(rules, catalogue)
    if problems:
        raise _reject("the invoice mapping names codes the organisation lacks: " + "; ".join(problems),
                      code="mapping_code_missing")
    theme = rules.mapping.branding_theme
    return replace(rules, org_items=catalogue.item_codes,
                   branding_theme_id=catalogue.branding_theme_id(theme) if theme else None)


def check_deal(deal: Deal, items: tuple[LineItem, ...], rules: MappingRules, org: OrgSource | None) -> None:
    """Refuse a deal whose lines need a code the organisation lacks, naming the code and the entry."""
    if org is None or rules.mapping.is_empty:
        return
    catalogue = org()
    currency = invoice_currency(deal, rules)
    if catalogue.currencies and currency not in catalogue.currencies:
        raise _reject(f"deal {deal.id}: currency {currency} is not one of the organisation's currencies")
    for n, item in enumerate(items or (None,), 1):
        codes = choose_line_codes(item, deal, rules)
        where = f"deal {deal.id} line {n}" + (f" ({item.sku or item.name})" if item else "")
        if codes.tax_type and codes.tax_type not in catalogue.tax_types:
            raise _reject(f"{where}: tax type {_q(codes.tax_type)} from {codes.tax_source} is not an active "
                          "tax rate of the organisation")
        if codes.account_code not in catalogue.account_codes:
            raise _reject(f"{where}: account code {_q(codes.account_code)} from {codes.account_source} is not an "
                          "active account of the organisation")
        if codes.item_code and codes.item_code not in catalogue.item_codes:
            raise _reject(f"{where}: item {_q(codes.item_code)} from {codes.item_source} is not an item the "
                          "organisation sells")
        for tracking, source in zip(codes.tracking, codes.tracking_sources, strict=True):
            if tracking.option not in catalogue.tracking.get(tracking.name, frozenset()):
                raise _reject(f"{where}: {_q(tracking.option)} is not an active option of tracking category "
                              f"{_q(tracking.name)} ({source}); add it in the organisation or correct the deal")
