"""Editing an unpaid invoice's lines through the Xero connector, against the simulator; every exchange is checked
against Xero's spec (the ``xero`` fixture)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.connectors.xero import XeroClient
from shared.domain.errors import BusinessRejection
from shared.domain.models import InvoiceLine
from simulators.testing import SimulatorsProcess
from tests.connectors.test_xero_connector import customer, draft


def more_seats(reference: str) -> object:
    base = draft("unused", reference=reference)
    line = InvoiceLine(description="Platform licence", quantity=Decimal("5"), unit_amount=Decimal("1999.99"),
                       account_code="200", tax_type="OUTPUT")
    return base.model_copy(update={"lines": (line,)})


def test_an_unpaid_invoices_lines_are_replaced_and_its_totals_computed_again_once_per_key(xero: XeroClient) -> None:
    ref = xero.create_invoice(draft(customer(xero), reference="deal-e"), "k-e")
    new = more_seats("deal-e")
    updated = xero.update_invoice_lines(ref.id, new, "k-e-update")  # type: ignore[arg-type]
    assert updated.id == ref.id and updated.number == ref.number and updated.status == "AUTHORISED"
    assert updated.total == Decimal("11499.94")  # 5 x 1999.99 = 9999.95, plus 15 % tax
    content = xero.get_invoice_content(ref.id)
    assert content is not None and content.sub_total == Decimal("9999.95")
    assert [(line.quantity, line.unit_amount) for line in content.lines] == [(Decimal(5), Decimal("1999.99"))]
    # The same key again (the activity re-run): Xero's first answer, nothing edited twice.
    assert xero.update_invoice_lines(ref.id, new, "k-e-update") == updated  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [None, "100.00"], ids=["paid", "part-paid"])
def test_a_paid_or_part_paid_invoice_cannot_be_edited(xero: XeroClient, xero_sim: SimulatorsProcess,
                                                     amount: str | None) -> None:
    ref = xero.create_invoice(draft(customer(xero), reference="deal-p"), "k-p")
    xero_sim.xero.pay_invoice(ref.id, amount=amount)
    with pytest.raises(BusinessRejection, match="payment or credit note allocated"):
        xero.update_invoice_lines(ref.id, more_seats("deal-p"), "k-p-update")  # type: ignore[arg-type]
    content = xero.get_invoice_content(ref.id)
    assert content is not None and content.lines[0].quantity == Decimal(3)
