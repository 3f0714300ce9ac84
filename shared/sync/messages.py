"""One input and one result model per activity of the deal saga: plain JSON across durable boundaries."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.domain.models import Company, CustomerRef, Deal, InvoiceRef, LineItem, Person, SyncMarkers
from shared.sync.batching import BatchInfo


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1] = 1


class LoadDealInput(Message):
    tx_id: str
    deal_id: str
    today: date
    round: int = 0  # > 0: a person's retry, which must not end as "nothing to do" while undos are owed
    may_exist: bool = False  # set on a batched step's lone retry; a read creates nothing, so it changes nothing


class LoadDealResult(Message):
    deal: Deal
    line_items: tuple[LineItem, ...]
    company_id: str
    existing_customer: CustomerRef | None
    previous: SyncMarkers
    deal_name: str
    amount: str
    currency: str
    external_ids: dict[str, str]
    deal_amount: str = ""  # the CRM's own deal amount ("" when it has none)
    amount_difference: str = ""  # amount (the invoice's) - deal_amount
    # Read with the deal when the CRM allows (saves the customer step its reads); None: read when needed.
    company: Company | None = None
    first_contact: Person | None = None
    # False: read in a batch, which leaves the customer lookup to the customer step (many companies a call).
    customer_looked_up: bool = True
    batch: BatchInfo | None = None  # read in a batch: which one, how big


class MarkersInput(Message):
    """Write these sync markers on the deal (claim, write-back, and their undos)."""

    deal_id: str
    values: SyncMarkers
    undo: bool = False  # an undo: a deal deleted meanwhile leaves nothing to restore (done, not failed)
    # Name the deal's item in a batch (its step's idempotency key); "" / 0 in histories from before batching.
    tx_id: str = ""
    round: int = 0
    may_exist: bool = False  # set by a batched retry; a PATCH to known values needs no lookup first


class MarkersResult(Message):
    deal_id: str
    written: SyncMarkers
    deal_gone: bool = False  # the deal was deleted in the CRM: nothing was written
    batch: BatchInfo | None = None  # written by a batch (BATCHED_STEPS)


class EnsureCustomerInput(Message):
    tx_id: str
    round: int
    company_id: str
    contact_ids: tuple[str, ...] = ()
    existing: CustomerRef | None = None
    company: Company | None = None  # already read by the load step; None: read it here
    first_contact: Person | None = None
    may_exist: bool = False  # an earlier (batched) attempt may have created it: look for it first
    look_up: bool = False  # the load read no customer (batched): look it up here, archived ones too


class EnsureCustomerResult(Message):
    customer: CustomerRef
    created: bool
    external_ids: dict[str, str]
    batch: BatchInfo | None = None  # made in a batch: which one, how big, the element's id


class ArchiveCustomerInput(Message):
    company_id: str
    existed_before: bool
    customer_id: str | None = None
    created: bool | None = None  # None: the create step never confirmed (crashed or timed out)
    reference: str = ""  # this deal's invoice reference: its live invoice must go before the customer
    # Name the deal's item in a batch (its step's idempotency key); "" / 0 in histories from before batching.
    tx_id: str = ""
    round: int = 0
    may_exist: bool = False  # set by a batched retry; an archive or void to known values needs no lookup first


class ArchiveCustomerResult(Message):
    outcome: Literal["archived", "kept", "absent", "in_use"]
    customer_id: str | None = None


class CreateInvoiceInput(Message):
    tx_id: str
    round: int
    deal: Deal
    line_items: tuple[LineItem, ...]
    customer_id: str
    today: date
    after_stranded: bool = False  # an earlier generation's invoice may still stand (see DealSyncInput)
    may_exist: bool = False  # an earlier (batched) attempt may have created it: look for it first


class CreateInvoiceResult(Message):
    invoice: InvoiceRef
    reused: bool
    external_ids: dict[str, str]
    batch: BatchInfo | None = None  # made in a batch: which one, how big, the element's id


class UndoInvoiceInput(Message):
    reference: str
    invoice_id: str | None = None
    # Name the deal's item in a batch (its step's idempotency key); "" / 0 in histories from before batching.
    tx_id: str = ""
    round: int = 0
    may_exist: bool = False  # set by a batched retry; an archive or void to known values needs no lookup first


class UndoInvoiceResult(Message):
    outcomes: dict[str, str]


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
