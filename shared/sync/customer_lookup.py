"""The company's accounting customer: by the customer map and one read by id first, by the company-id search else.

The search (Xero: ``where=ContactNumber==...``) is no optimised filter: a big organisation refuses it
(HighVolumeException), and it answers for one company a call. The map remembers which contact is the company's;
the contact is then read by id (``IDs=``, many a call), which also says whether it still exists and is active.
A row that no longer holds (the contact merged away, its company id changed, the organisation switched) is
never trusted: today's search decides, and the map is repaired with what it found.

The map is a cache of facts the accounting system holds: a storage failure only costs the search, never a step.
"""

from __future__ import annotations

import logging

from shared.connectors.ports import AccountingPort, CustomerMap
from shared.domain.errors import TransientError
from shared.domain.models import CustomerRef

log = logging.getLogger(__name__)

USABLE = frozenset({"ACTIVE", "ARCHIVED"})  # archived: reactivated by the customer step, as today


def find_company_customer(company_id: str, accounting: AccountingPort, customers: CustomerMap | None, *,
                          include_archived: bool) -> CustomerRef | None:
    """The contact that is the company's (archived ones too with ``include_archived``), or None."""
    mapped = _mapped(company_id, accounting, customers)
    if mapped is not None and (include_archived or mapped.status == "ACTIVE"):
        return mapped
    found = accounting.find_customer(company_id, include_archived=include_archived)
    if found is not None and (mapped is None or found.id != mapped.id):
        remember(customers, company_id, found.id)
    return found


def _mapped(company_id: str, accounting: AccountingPort, customers: CustomerMap | None) -> CustomerRef | None:
    if customers is None:
        return None
    try:
        contact_id = customers.contact_id(company_id)
    except TransientError as exc:
        log.warning("customer map unreadable for company %s, searching by its id instead: %s", company_id, exc)
        return None
    if contact_id is None:
        return None
    ref = accounting.get_customers([contact_id]).get(contact_id)
    # Only a contact that still carries this company's id is its own: one renumbered by a person, merged
    # into another or being erased (GDPR) is not, whatever the map remembers.
    if ref is None or ref.external_id != company_id or ref.status not in USABLE:
        return None
    return ref


def remember(customers: CustomerMap | None, company_id: str, contact_id: str) -> None:
    """Record the company's contact; a storage failure is logged (the next deal's search repairs the row)."""
    if customers is None:
        return
    try:
        customers.record(company_id, contact_id)
    except TransientError as exc:
        log.warning("customer map: company %s -> contact %s not recorded: %s", company_id, contact_id, exc)


__all__ = ["find_company_customer", "remember"]
