"""What each saga activity does, by name: validate its input model and run its step with the given ports.

Blueprints call ``run`` with the process's real clients; tests call it with their own, so both run
exactly the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import names
from shared.connectors.ports import AccountingPort, CrmPort
from shared.domain.invoice_mapping import MappingRules
from shared.saga.envelope import run_activity
from shared.sync import steps
from shared.sync.messages import (
    ArchiveCustomerInput,
    CreateInvoiceInput,
    EnsureCustomerInput,
    LoadDealInput,
    MarkersInput,
    UndoInvoiceInput,
)


@dataclass(frozen=True)
class Ports:
    crm: CrmPort
    accounting: AccountingPort
    rules: MappingRules
    trigger_stage: str


Handler = Callable[[Any, Ports], Any]

HANDLERS: dict[str, Handler] = {
    names.LOAD_DEAL: lambda p, x: steps.load_deal(LoadDealInput.model_validate(p), x.crm, x.accounting, x.rules,
                                                  x.trigger_stage),
    names.WRITE_MARKERS: lambda p, x: steps.write_markers(MarkersInput.model_validate(p), x.crm),
    names.ENSURE_CUSTOMER: lambda p, x: steps.ensure_customer(EnsureCustomerInput.model_validate(p), x.crm,
                                                              x.accounting, x.rules),
    names.ARCHIVE_CUSTOMER: lambda p, x: steps.archive_customer_if_created(ArchiveCustomerInput.model_validate(p),
                                                                           x.accounting),
    names.CREATE_INVOICE: lambda p, x: steps.create_invoice(CreateInvoiceInput.model_validate(p), x.accounting,
                                                            x.rules),
    names.UNDO_INVOICE: lambda p, x: steps.undo_invoice_if_present(UndoInvoiceInput.model_validate(p), x.accounting),
}


def run(name: str, payload: Any, ports: Ports) -> dict[str, Any]:
    """Run activity ``name``: a business rejection comes back as data, other errors are raised."""
    handler = HANDLERS[name]
    return run_activity(lambda p: handler(p, ports), payload)
