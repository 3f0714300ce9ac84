"""Sending the invoice by e-mail: only an AUTHORISED invoice, at most once, last, never undone; a failure
leaves the deal invoiced with a note a person sees (status page reason, attention log line)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import Settings
from shared.domain.errors import BusinessRejection
from shared.domain.models import InvoiceRef
from shared.domain.transaction import ABANDONED_STEP, apply
from shared.sync import attention
from shared.sync.deal_saga import build_deal_saga
from shared.sync.invoice_email import SendEmailInput, send_invoice_email
from shared.sync.policy import SagaPolicy

AT = "2026-11-23T10:00:00+00:00"


class Mailer:
    def __init__(self, invoice: InvoiceRef | None) -> None:
        self.invoice, self.sent = invoice, 0

    def get_invoice(self, invoice_id: str) -> InvoiceRef | None:
        return self.invoice

    def email_invoice(self, invoice_id: str) -> None:
        self.sent += 1
        assert self.invoice is not None
        self.invoice = self.invoice.model_copy(update={"sent_to_contact": True})


def invoice(status: str = "AUTHORISED", sent: bool | None = False) -> InvoiceRef:
    return InvoiceRef(id="inv-1", number="INV-0001", status=status, sent_to_contact=sent)


def test_an_authorised_invoice_is_sent_once_and_a_re_run_does_not_send_it_again() -> None:
    mailer = Mailer(invoice())
    request = SendEmailInput(tx_id="deal-1", invoice_id="inv-1")
    assert send_invoice_email(request, mailer).outcome == "sent"
    assert send_invoice_email(request, mailer).outcome == "already_sent"
    assert mailer.sent == 1


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED", "PAID", "VOIDED"])
def test_an_invoice_that_is_not_authorised_is_not_sent(status: str) -> None:
    mailer = Mailer(invoice(status))
    assert send_invoice_email(SendEmailInput(tx_id="t", invoice_id="inv-1"), mailer).outcome == "not_authorised"
    assert mailer.sent == 0


def test_an_invoice_gone_meanwhile_is_a_rejection_saying_it_was_not_e_mailed() -> None:
    with pytest.raises(BusinessRejection, match="not e-mailed"):
        send_invoice_email(SendEmailInput(tx_id="t", invoice_id="inv-1"), Mailer(None))


def test_the_email_step_is_the_last_and_forward_only_and_only_when_the_setting_is_on(
    app_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [s.name for s in build_deal_saga(SagaPolicy()).steps][-1] == "write_back"
    on = build_deal_saga(SagaPolicy(send_invoice_email=True)).steps
    assert on[-1].name == "email" and on[-1].forward_only and on[-1].compensation is None
    monkeypatch.setenv("SEND_INVOICE_EMAIL", "true")
    assert SagaPolicy.from_settings(Settings()).send_invoice_email is True  # type: ignore[call-arg]


def _completed_with_failed_email() -> Any:
    state = apply(None, {"op": "start", "id": "deal-7", "deal_id": "7", "trigger": "webhook", "at": AT})
    error = {"kind": "transient", "service": "xero", "code": "http_500", "message": "e-mail invoice inv-1: 500"}
    state = apply(state, {"op": "events", "at": AT, "events": [
        {"type": "step_started", "step": "email", "at": AT},
        {"type": "step_abandoned", "step": "email", "at": AT, "error": error}]})
    return apply(state, {"op": "finish", "status": "completed", "at": AT, "reason": None})


def test_a_failed_e_mail_leaves_the_transaction_completed_with_a_note_naming_the_step() -> None:
    state = _completed_with_failed_email()
    assert state.status == "completed" and state.failed_step == ""
    assert state.reason is not None and state.reason[ABANDONED_STEP] == "email"
    assert state.reason["message"].startswith("step email was not done (nothing is rolled back for it)")
    assert [s.status for s in state.steps] == ["failed"]


def test_a_failed_e_mail_is_one_attention_line_and_a_plain_completed_transaction_none() -> None:
    line = attention.attention_line(_completed_with_failed_email())
    assert line is not None and line.startswith("sync attention: status=completed transaction=deal-7 deal=7 "
                                                "step=email service=xero code=http_500")
    plain = apply(apply(None, {"op": "start", "id": "deal-8", "deal_id": "8", "at": AT}),
                  {"op": "finish", "status": "completed", "at": AT})
    assert attention.attention_line(plain) is None
