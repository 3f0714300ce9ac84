"""The deal saga's typed state: its input and each step's result as its own model, in a field named after it.

It lives only in the orchestrator's memory (rebuilt on every replay from the activities' recorded JSON
results): what crosses durable boundaries stays plain JSON of unchanged shapes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.saga.outcome import SagaProgress
from shared.sync.invoice_email import SendEmailResult
from shared.sync.messages import CreateInvoiceResult, EnsureCustomerResult, LoadDealResult, MarkersResult


class DealSagaInput(BaseModel):
    """What every step may read of the transaction; ``round`` and ``today`` move on with a person's retry."""

    model_config = ConfigDict(extra="forbid")

    tx_id: str
    deal_id: str
    today: date
    round: int = 0
    after_stranded: bool = False  # an earlier generation's invoice may still stand (see DealSyncInput)


class DealSagaState(SagaProgress):
    # Assignments are validated: a step's recorded JSON result becomes its model as the engine keeps it.
    model_config = ConfigDict(validate_assignment=True)

    input: DealSagaInput
    load: LoadDealResult | None = None
    claim: MarkersResult | None = None
    customer: EnsureCustomerResult | None = None
    invoice: CreateInvoiceResult | None = None
    write_back: MarkersResult | None = None
    email: SendEmailResult | None = None
    # The customer step's results from earlier rounds (before each of a person's retries ran it again),
    # oldest first: that this transaction created the customer, even if a later round found it there.
    earlier_customers: list[EnsureCustomerResult] = Field(default_factory=list)

    def keep_result(self, step: str, result: Any, *, halted: bool) -> None:
        if halted:
            return  # a halt's result is what the ledger shows (in the step's event), not the step's model
        setattr(self, step, result)

    def set_aside(self, step: str) -> None:
        if step == "customer" and self.customer is not None:
            self.earlier_customers.append(self.customer)
        setattr(self, step, None)
