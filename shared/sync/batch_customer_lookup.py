"""Many companies' accounting customers at once: the customer map and reads by id first, one search for the rest.

The batched customer step's lookup, for the deals whose load was batched (and read no customer): the rule of
``customer_lookup.find_company_customer`` (archived contacts included), many companies a call. The map's
contacts are read by id (``IDs=``, 50 a call); a contact that no longer carries its company's id is not
trusted. The companies left are searched by company id (Xero: ``ContactNumber=="a" OR ...``, 40 a call), and
the map records what the search found.

A big organisation refuses that search (Xero's HighVolumeException: ContactNumber is no optimised filter),
whatever the size of the group: the companies the map knows are still found by id, the others get Xero's
refusal as their reply, as the single lookup raises it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.connectors.ports import AccountingPort, BatchAccountingPort, CustomerMap
from shared.domain.errors import BusinessRejection, PermanentError, SyncError, TransientError
from shared.domain.models import CustomerRef
from shared.sync.customer_lookup import USABLE, remember

__all__ = ["Lookup", "find_customers"]

log = logging.getLogger(__name__)
IDS_PER_CALL, NUMBERS_PER_CALL = 50, 40


@dataclass
class Lookup:
    """What was found, by company id; ``refused``: the search's refusal, the reply of every company not found."""

    found: dict[str, CustomerRef] = field(default_factory=dict)
    refused: SyncError | None = None
    calls: int = 0


def find_customers(company_ids: Sequence[str], accounting: AccountingPort, port: BatchAccountingPort,
                   customers: CustomerMap | None) -> Lookup:
    """The companies' customers (archived ones too); a transient failure raises (the batch's error)."""
    wanted = list(dict.fromkeys(company_ids))
    lookup = Lookup()
    mapped = _mapped(wanted, customers)
    if mapped:
        lookup.calls += -(-len(set(mapped.values())) // IDS_PER_CALL)
        refs = accounting.get_customers(list(dict.fromkeys(mapped.values())))
        for company_id, contact_id in mapped.items():
            ref = refs.get(contact_id)
            # Only a contact that still carries this company's id is its own (renumbered, merged: not).
            if ref is not None and ref.external_id == company_id and ref.status in USABLE:
                lookup.found[company_id] = ref
    rest = [c for c in wanted if c not in lookup.found]
    if not rest:
        return lookup
    lookup.calls += -(-len(rest) // NUMBERS_PER_CALL)
    try:
        searched = port.find_customers(rest)
    except (BusinessRejection, PermanentError) as exc:
        lookup.refused = exc
        return lookup
    for company_id, ref in searched.items():
        lookup.found[company_id] = ref
        if mapped.get(company_id) != ref.id:
            remember(customers, company_id, ref.id)
    return lookup


def _mapped(company_ids: list[str], customers: CustomerMap | None) -> dict[str, str]:
    """Company id -> the contact id the map remembers (a storage failure only costs the search)."""
    if customers is None:
        return {}
    found: dict[str, str] = {}
    for company_id in company_ids:
        try:
            contact_id = customers.contact_id(company_id)
        except TransientError as exc:
            log.warning("customer map unreadable for company %s, searching by its id instead: %s", company_id, exc)
            continue
        if contact_id is not None:
            found[company_id] = contact_id
    return found
