"""The clients a saga activity runs with: the process's real ones in blueprints, fakes in tests."""

from __future__ import annotations

from dataclasses import dataclass

from shared.connectors.ports import AccountingPort, CrmPort, CustomerMap
from shared.domain.invoice_mapping import MappingRules
from shared.sync.invoice_email import InvoiceMailer
from shared.sync.org_check import OrgSource


@dataclass(frozen=True)
class Ports:
    crm: CrmPort
    accounting: AccountingPort
    rules: MappingRules
    trigger_stage: str
    org: OrgSource | None = None  # the organisation's codes (cached), read only when a mapping is set
    mailer: InvoiceMailer | None = None
    # Which accounting customer is each company's (None: every lookup searches by the company id, as before).
    customers: CustomerMap | None = None

    def invoice_mailer(self) -> InvoiceMailer:
        if self.mailer is None:
            raise RuntimeError("no invoice mailer configured")
        return self.mailer
