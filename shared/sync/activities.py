"""What each saga activity does, by name: validate its input model and run its step with the given ports.

Blueprints call ``run`` with the process's real clients; tests call it with their own, so both run
exactly the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import names
from shared.connectors.ports import AccountingPort, CrmPort
from shared.domain.errors import BusinessRejection
from shared.domain.invoice_mapping import MappingRules
from shared.saga.envelope import run_activity
from shared.sync import attention, steps
from shared.sync.invoice_email import InvoiceMailer, SendEmailInput, send_invoice_email
from shared.sync.messages import (
    ArchiveCustomerInput,
    CreateInvoiceInput,
    EnsureCustomerInput,
    LoadDealInput,
    MarkersInput,
    UndoInvoiceInput,
)
from shared.sync.org_check import OrgSource, check_mapping


@dataclass(frozen=True)
class Ports:
    crm: CrmPort
    accounting: AccountingPort
    rules: MappingRules
    trigger_stage: str
    org: OrgSource | None = None  # the organisation's codes (cached), read only when a mapping is set
    mailer: InvoiceMailer | None = None


def check_invoice_mapping(ports: Ports) -> dict[str, Any]:
    """The batch's first step: the mapping is readable and every code it names exists in the organisation."""
    try:
        rules = check_mapping(ports.rules, ports.org)
    except BusinessRejection as exc:
        log.warning("%s", attention.mapping_refused_line(names.BATCH_INSTANCE_ID, str(exc)))
        raise
    return {"checked": ports.org is not None and not rules.mapping.is_empty}


def _mailer(ports: Ports) -> InvoiceMailer:
    if ports.mailer is None:
        raise RuntimeError("no invoice mailer configured")
    return ports.mailer


log = logging.getLogger(__name__)
Handler = Callable[[Any, Ports], Any]

HANDLERS: dict[str, Handler] = {
    names.LOAD_DEAL: lambda p, x: steps.load_deal(LoadDealInput.model_validate(p), x.crm, x.accounting, x.rules,
                                                  x.trigger_stage, x.org),
    names.WRITE_MARKERS: lambda p, x: steps.write_markers(MarkersInput.model_validate(p), x.crm),
    names.ENSURE_CUSTOMER: lambda p, x: steps.ensure_customer(EnsureCustomerInput.model_validate(p), x.crm,
                                                              x.accounting, x.rules),
    names.ARCHIVE_CUSTOMER: lambda p, x: steps.archive_customer_if_created(ArchiveCustomerInput.model_validate(p),
                                                                           x.accounting),
    names.CREATE_INVOICE: lambda p, x: steps.create_invoice(CreateInvoiceInput.model_validate(p), x.accounting,
                                                            x.rules, x.org),
    names.UNDO_INVOICE: lambda p, x: steps.undo_invoice_if_present(UndoInvoiceInput.model_validate(p), x.accounting),
    names.CHECK_MAPPING: lambda p, x: check_invoice_mapping(x),
    names.SEND_INVOICE_EMAIL: lambda p, x: send_invoice_email(SendEmailInput.model_validate(p), _mailer(x)),
}


def run(name: str, payload: Any, ports: Ports) -> dict[str, Any]:
    """Run activity ``name``: a business rejection comes back as data, other errors are raised."""
    handler = HANDLERS[name]
    return run_activity(lambda p: handler(p, ports), payload)
