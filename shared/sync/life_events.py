"""After invoicing: what an invoiced deal's change, loss or deletion means for its invoice, decided and then done.

``read_life_event`` reads the deal and the invoice the deal carries (a deleted deal's invoice is the one its
completed sync recorded in the ledger) and ``decide`` says what to do, a pure function of what was read:

    deal still won, lines as invoiced ............................ none (no transaction)
    deal still won, lines differ, invoice unpaid ................. update (ON_DEAL_CHANGED=update) | flag
    deal out of the won stage, or deleted, invoice unpaid ........ void (ON_DEAL_LOST=void) | flag
    invoice paid or part-paid, deal changed/lost/deleted .......... flag ("credit note needed" when lost)
    no invoice of this app, or it is voided or deleted already ... none

The webhook's event says only that something happened: the deal as read now decides (events arrive late and
out of order, so an amount change read after the deal was lost is a loss, and a loss undone is no change).
``apply_life_event`` does it, written to run at least once: the edit carries an Idempotency-Key, a void of a
voided invoice is done already, and the deal's markers are PATCHed to known values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.connectors.ports import AccountingPort, CrmPort
from shared.domain.errors import BusinessRejection, PermanentError, TransientError
from shared.domain.invoice_edits import InvoiceContent, differences
from shared.domain.invoice_mapping import MappingRules, build_invoice, lines_total
from shared.domain.models import Deal, InvoiceDraft
from shared.saga.envelope import Halt
from shared.sync.identity import generation_of, idempotency_key, transaction_id
from shared.sync.messages import Message
from shared.sync.org_check import OrgSource, check_mapping
from shared.sync.policy import SagaPolicy

Event = Literal["changed", "lost", "deleted"]
Action = Literal["none", "update", "void", "flag"]
OnChanged = Literal["update", "flag"]
OnLost = Literal["void", "flag"]
EDITABLE = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})
GONE = frozenset({"VOIDED", "DELETED"})
LOST_STATUS = "voided"  # the deal's sync status once its invoice was voided (as for a void by hand)
FLAGGED_STATUS = "needs_attention"  # a lost deal whose invoice stands: a person decides


class LifeEventInput(Message):
    """The input of ``read_life_event`` (and of the ``deal_change`` orchestration, with its settings)."""

    tx_id: str
    deal_id: str
    event: Event
    today: date
    on_changed: OnChanged = "update"
    on_lost: OnLost = "void"


class LifeDecision(Message):
    """What to do, and everything the doing needs: plain JSON across the durable boundary."""

    action: Action
    kind: Literal["invoice_update", "invoice_void"]
    event: Event  # what the deal as read says happened (not the webhook's claim)
    message: str
    code: str = ""  # why a person is asked (flag): deal_changed, credit_note_needed, deal_lost, ...
    deal_exists: bool = True
    deal_name: str = ""
    invoice_id: str = ""
    invoice_number: str = ""
    invoice_status: str = ""
    amount: str = ""  # the total before tax the deal maps to now (changed) or the invoice's (lost)
    currency: str = ""
    draft: InvoiceDraft | None = None  # the invoice's new content (update only)


class LifeResult(Message):
    outcome: Literal["updated", "voided", "deleted", "flagged"]
    message: str
    code: str = ""
    deal_name: str = ""
    amount: str = ""
    currency: str = ""
    external_ids: dict[str, str]


def _paid(content: InvoiceContent) -> Decimal:
    ref = content.ref
    paid = ref.amount_paid or Decimal(0)
    return paid if paid > 0 or ref.status != "PAID" else (ref.total or Decimal(0))


def decide(event: Event, deal: Deal | None, invoice: InvoiceContent, draft: InvoiceDraft | BusinessRejection | None,
           trigger_stage: str, on_changed: OnChanged, on_lost: OnLost) -> LifeDecision:
    """What the deal as read means for its standing invoice (``invoice`` is neither voided nor deleted).

    ``draft`` is the invoice the deal maps to now (the creation's own mapping), or the rejection that mapping
    gave; None when the deal is gone or lost (nothing to map).
    """
    ref = invoice.ref
    number = ref.number or ref.id
    happened: Event = "deleted" if deal is None else ("lost" if deal.stage != trigger_stage else "changed")
    paid = _paid(invoice)
    common = {"event": happened, "deal_exists": deal is not None, "deal_name": deal.name if deal else "",
              "invoice_id": ref.id, "invoice_number": ref.number, "invoice_status": ref.status,
              "currency": ref.currency or ""}
    if happened != "changed":
        what = "was deleted in the CRM" if deal is None else f"left the stage {trigger_stage!r} (now {deal.stage!r})"
        shown = {**common, "kind": "invoice_void", "amount": str(invoice.sub_total or ref.total or "")}
        if paid > 0:
            return LifeDecision(action="flag", code="credit_note_needed", **shown, message=(
                f"credit note needed: the deal {what}, and invoice {number} is {ref.status} with {paid} paid; "
                "it can be neither voided nor edited"))
        if on_lost == "flag":
            return LifeDecision(action="flag", code="deal_lost", **shown, message=(
                f"the deal {what}; invoice {number} still stands ({ref.status}): void it or credit it "
                "(ON_DEAL_LOST=flag)"))
        return LifeDecision(action="void", **shown, message=f"the deal {what}: invoice {number} is voided")
    assert deal is not None
    shown = {**common, "kind": "invoice_update"}
    if isinstance(draft, BusinessRejection):
        return LifeDecision(action="flag", code="deal_unmappable", amount="", **shown, message=(
            f"the deal changed after invoice {number} and cannot be invoiced as it is now: {draft}"))
    assert draft is not None
    amount = str(lines_total(draft.lines))
    found = differences(draft, invoice)
    if not found:
        return LifeDecision(action="none", amount=amount, **shown,
                            message=f"invoice {number} already matches the deal")
    what = "; ".join(found)
    if paid > 0:
        return LifeDecision(action="flag", code="credit_note_needed", amount=amount, **shown, message=(
            f"the deal changed after invoice {number} was paid ({paid} paid): {what}; "
            "a credit note and a new invoice are needed"))
    if ref.currency and ref.currency != draft.currency:
        return LifeDecision(action="flag", code="deal_changed", amount=amount, **shown, message=(
            f"the deal changed after invoice {number}: {what}; an edit cannot change the currency: "
            "void it and invoice the deal again"))
    if on_changed == "flag" or ref.status not in EDITABLE:
        return LifeDecision(action="flag", code="deal_changed", amount=amount, **shown, message=(
            f"the deal changed after invoice {number}: {what}; the invoice is not updated (ON_DEAL_CHANGED=flag)"
            if on_changed == "flag" else f"the deal changed after invoice {number} ({ref.status}): {what}"))
    return LifeDecision(action="update", amount=amount, draft=draft, **shown,
                        message=f"invoice {number} is updated to match the deal: {what}")


RecordedInvoice = Callable[[str], str | None]
"""The invoice id a deal's completed sync recorded (the ledger), for a deal that is gone from the CRM."""


def read_life_event(request: LifeEventInput, crm: CrmPort, accounting: AccountingPort, rules: MappingRules,
                    trigger_stage: str, recorded_invoice: RecordedInvoice,
                    org: OrgSource | None = None) -> LifeDecision | Halt:
    """Read the deal and its invoice and decide; ``Halt("no_op")`` when there is nothing to do."""
    try:
        snapshot = crm.get_deal_snapshot(request.deal_id)
    except PermanentError as exc:
        if exc.code != "not_found":
            raise
        snapshot = None
    deal = snapshot.deal if snapshot else None
    if deal is not None and deal.markers.sync_status == "in_progress":
        # Its sync holds the deal and has not written the invoice back: decide once it has.
        raise TransientError(f"deal {deal.id} is being invoiced; its life event waits", service="sync",
                             code="sync_in_progress", retry_after=30)
    if request.event != "changed" and deal is not None and deal.stage == trigger_stage:
        # A loss undone, or an older stage delivered late: the deal is won as invoiced. A change of its lines
        # meanwhile comes as an amount change of its own. No call to accounting (its budget is the tight one).
        return Halt("no_op", {"reason": f"the deal is in the stage {trigger_stage!r}"})
    invoice_id = (deal.markers.invoice_id if deal is not None else recorded_invoice(request.deal_id)) or ""
    if not invoice_id:
        return Halt("no_op", {"reason": "the deal has no invoice of this app"})
    invoice = accounting.get_invoice_content(invoice_id)
    if invoice is None or invoice.ref.status in GONE:
        return Halt("no_op", {"reason": f"invoice {invoice_id} is {invoice.ref.status if invoice else 'gone'}"})
    draft: InvoiceDraft | BusinessRejection | None = None
    if deal is not None and deal.stage == trigger_stage:
        assert snapshot is not None
        items = snapshot.line_items
        if items is None:
            items = tuple(crm.get_line_items(deal.line_item_ids)) if deal.line_item_ids else ()
        try:
            # The creation's own mapping, completed as at creation with what the organisation offers (its
            # items), on the invoice's customer: the same deal gives the same lines.
            draft = build_invoice(deal, items, invoice.ref.customer_id or "", request.today,
                                  check_mapping(rules, org))
        except BusinessRejection as exc:
            draft = exc
    decision = decide(request.event, deal, invoice, draft, trigger_stage, request.on_changed, request.on_lost)
    if decision.action == "none":
        return Halt("no_op", {"reason": decision.message})
    return decision


class ApplyInput(Message):
    tx_id: str
    deal_id: str
    decision: LifeDecision


def _note(tx_id: str, message: str) -> str:
    text = " ".join(f"{message} ({tx_id})".split())
    return text if len(text) <= 300 else text[:299] + "…"


def apply_life_event(request: ApplyInput, crm: CrmPort, accounting: AccountingPort) -> LifeResult:
    """Do what was decided, then say so on the deal (when there is one)."""
    d = request.decision
    ids = {"deal": request.deal_id, "invoice": d.invoice_id, "invoice_number": d.invoice_number}
    outcome: Literal["updated", "voided", "deleted", "flagged"] = "flagged"
    message, code, amount = d.message, d.code, d.amount
    try:
        if d.action == "update":
            assert d.draft is not None
            ref = accounting.update_invoice_lines(d.invoice_id, d.draft,
                                                  idempotency_key(request.tx_id, "invoice-update", 0))
            outcome, amount = "updated", str(lines_total(d.draft.lines))
            message = f"{d.message}; its total is now {ref.total} {ref.currency or d.currency}".strip()
        elif d.action == "void":
            done = accounting.undo_invoice(d.invoice_id)
            outcome = "deleted" if done == "deleted" else "voided"
    except BusinessRejection as exc:
        # Paid (or otherwise refused) since it was read: a person decides, with the system's own words.
        code = "credit_note_needed" if d.kind == "invoice_void" else "update_refused"
        message = f"{d.message}, but the accounting system refused: {exc}"
    if d.deal_exists:
        values = {"last_error": _note(request.tx_id, message if outcome == "flagged" else d.message)}
        if outcome in ("voided", "deleted"):
            values |= {"sync_status": LOST_STATUS}
        elif d.kind == "invoice_void":
            values |= {"sync_status": FLAGGED_STATUS}
        try:
            crm.update_markers(request.deal_id, values)
        except PermanentError as exc:
            if exc.code != "not_found":
                raise  # deleted meanwhile: there is no deal left to tell
    return LifeResult(outcome=outcome, message=message, code=code, deal_name=d.deal_name, amount=amount,
                      currency=d.currency, external_ids={k: v for k, v in ids.items() if v})


class _Ledger(Protocol):
    def for_deal(self, deal_id: str) -> list[dict[str, Any]]: ...

    def get(self, tx_id: str, started_at: str) -> dict[str, Any] | None: ...


def recorded_invoice_in(ledger: _Ledger, deal_id: str) -> str | None:
    """The invoice the deal's latest completed sync made, as the ledger recorded it; None if none did."""
    for row in ledger.for_deal(deal_id):  # newest first
        tx_id = str(row.get("id", ""))
        if generation_of(deal_id, tx_id) is None or row.get("status") != "completed":
            continue
        full = ledger.get(tx_id, str(row.get("started_at", "")))
        if full and full.get("invoice_id"):
            return str(full["invoice_id"])
    return None


class DealChangeInput(BaseModel):
    """The input of one ``deal_change`` orchestration; its instance id is ``life_event_id(deal, n)``.

    The settings are frozen into it when the webhook is accepted: a replay decides as the first run did.
    """

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    deal_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    event: Event
    on_changed: OnChanged = "update"
    on_lost: OnLost = "void"
    trigger: str = "webhook"
    policy: SagaPolicy = Field(default_factory=SagaPolicy)


def life_event_id(deal_id: str, n: int) -> str:
    """``deal-<id>-change<n>``: the deal's n-th life event after invoicing. Never a sync's id (``deal-<id>[-g<n>]``),
    and shown with the deal's syncs by the transactions API."""
    if n < 1:
        raise ValueError("life events are numbered from 1")
    return f"{transaction_id(deal_id)}-change{n}"
