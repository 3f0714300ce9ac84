"""The Xero simulator's batch settings: what makes Xero batches hard (size cap, latency, order, ``IDs=``, volume).

Decisions (documented for test writers; Xero's own behaviour where its documentation says it):
- ``max_request_bytes`` (3,500,000: Xero's "a single POST ... has a size limit of 3.5MB"): a larger PUT/POST
  body answers 413 and changes nothing. The status is ours (unconfirmed: Xero's documentation names the limit,
  not the answer).
- ``batch_latency_ms`` + ``batch_latency_per_element_ms`` x elements: how long a collection PUT/POST of
  Invoices or Contacts takes, divided by ``time_scale`` like the rate limits. Both 0 (off) by default.
- ``shuffle_answers`` (off by default; ``shuffle_seed`` makes it reproducible): the elements of a collection
  answer come in another order than sent. Xero does not promise the order, so a client must match by
  Reference, ContactNumber or id, never by position.
- ``max_ids`` (50): more ids in one ``IDs``, ``ContactIDs`` or ``InvoiceNumbers`` list answer 414. Xero's real
  limit is the URL's length (about 50 GUIDs); the count and the status are ours (unconfirmed).
- ``high_volume_threshold`` (None: off): with more contacts than that, a ``where`` on Contacts that uses a
  field outside Xero's optimised ones (Name, EmailAddress, AccountNumber; ``ContactNumber`` is not one) answers
  400 ``HighVolumeException`` with Xero's message. The message is Xero's (as its SDK users report it); the
  status 400 and the exact optimised list are unconfirmed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BATCH_DEFAULTS", "HIGH_VOLUME_MESSAGE", "OPTIMISED_CONTACT_FIELDS"]

BATCH_DEFAULTS: dict[str, Any] = {
    "max_request_bytes": 3_500_000,
    "batch_latency_ms": 0,
    "batch_latency_per_element_ms": 0,
    "shuffle_answers": False,
    "shuffle_seed": None,
    "max_ids": 50,
    "high_volume_threshold": None,
}
OPTIMISED_CONTACT_FIELDS = frozenset({"Name", "EmailAddress", "AccountNumber"})
HIGH_VOLUME_MESSAGE = (
    "Your request is not filtering Contacts efficiently, given the extremely high volume for this organisation. "
    "Please check https://developer.xero.com/documentation/api/efficient-data-retrieval for tips on making "
    "Contact retrieval more efficient."
)
