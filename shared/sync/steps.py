"""The deal saga's step functions: plain code behind each activity, written to run at least once.

Every external write is idempotent, because Durable Functions re-runs an activity whose result
was not recorded (host crash, timeout): markers are PATCHed to known values, the customer and the
invoice are created with an ``Idempotency-Key`` derived from the transaction, and every undo is
"if present".
"""

from __future__ import annotations

from collections.abc import Callable

from shared.connectors.ports import AccountingPort, CrmPort, CustomerMap
from shared.domain.amount_check import check_amount
from shared.domain.customer_names import disambiguated_name
from shared.domain.errors import BusinessRejection, PermanentError
from shared.domain.invoice_mapping import MappingRules, build_invoice, lines_total, reference_for
from shared.domain.models import Customer, CustomerRef, Deal, DealSnapshot, InvoiceRef, SyncMarkers
from shared.saga.envelope import Halt
from shared.sync.customer_lookup import find_company_customer, remember
from shared.sync.identity import generation_of, idempotency_key
from shared.sync.messages import (
    ArchiveCustomerInput,
    ArchiveCustomerResult,
    CreateInvoiceInput,
    CreateInvoiceResult,
    EnsureCustomerInput,
    EnsureCustomerResult,
    LoadDealInput,
    LoadDealResult,
    MarkersInput,
    MarkersResult,
    UndoInvoiceInput,
    UndoInvoiceResult,
)
from shared.sync.org_check import OrgSource, check_deal, check_mapping

LIVE_INVOICE = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "PAID"})
PAID_MARKERS = frozenset({"paid_status", "paid_date", "amount_paid", "amount_due"})


def load_deal(
    request: LoadDealInput, crm: CrmPort, accounting: AccountingPort, rules: MappingRules, trigger_stage: str,
    org: OrgSource | None = None, customers: CustomerMap | None = None,
) -> LoadDealResult | Halt:
    """Read everything the saga needs, and refuse bad data before anything is written."""
    # One lookup for the whole saga, archived contacts included (reactivated rather than duplicated): by the
    # customer map and a read by id, else by the company id (and then the map records what it found).
    return load_snapshot(request, crm.get_deal_snapshot(request.deal_id), crm, rules, trigger_stage, org,
                         lambda company_id: find_company_customer(company_id, accounting, customers,
                                                                  include_archived=True))


def load_snapshot(
    request: LoadDealInput, snapshot: DealSnapshot, crm: CrmPort, rules: MappingRules, trigger_stage: str,
    org: OrgSource | None, look_up: Callable[[str], CustomerRef | None] | None,
) -> LoadDealResult | Halt:
    """The load step from a deal's snapshot; without ``look_up`` the customer step looks the customer up."""
    deal = snapshot.deal
    markers = deal.markers
    stop = _nothing_to_do(request, deal, trigger_stage)
    if stop is not None:
        return stop
    if not deal.company_ids:
        raise BusinessRejection(f"deal {deal.id} has no associated company to invoice", service="sync",
                                code="no_company")
    items = snapshot.line_items
    if items is None:
        items = tuple(crm.get_line_items(deal.line_item_ids)) if deal.line_item_ids else ()
    # Validate the invoice now, so that a deal that cannot be invoiced is refused before the claim.
    rules = check_mapping(rules, org)
    draft = build_invoice(deal, items, "validation-only", request.today, rules)
    check_deal(deal, items, rules, org)
    # The invoice's total against the CRM's deal amount: refused here (nothing written yet), or recorded.
    money = check_amount(deal, lines_total(draft.lines), draft.currency, mode=rules.amount_mismatch,
                         tolerance=rules.amount_tolerance)
    company_id = deal.company_ids[0]  # the primary company where the CRM says which
    existing = look_up(company_id) if look_up is not None else None
    if markers.sync_status == "in_progress" and generation_of(deal.id, markers.transaction_id) is not None:
        # A claim by this deal's own transaction (ours from an earlier round or a lost result, or an
        # earlier generation that stopped): the deal's real previous values are not "in progress".
        # Restoring to that on undo would leave the lock behind.
        markers = markers.model_copy(update={"sync_status": "", "transaction_id": ""})
    return LoadDealResult(
        deal=deal, line_items=items, company_id=company_id, existing_customer=existing, previous=markers,
        deal_name=deal.name, amount=money.invoice_total, currency=draft.currency,
        deal_amount=money.deal_amount, amount_difference=money.difference,
        external_ids={"deal": deal.id, "company": company_id, **({"customer": existing.id} if existing else {})},
        company=snapshot.company if snapshot.company and snapshot.company.id == company_id else None,
        first_contact=snapshot.first_contact, customer_looked_up=look_up is not None,
    )


def _nothing_to_do(request: LoadDealInput, deal: Deal, trigger_stage: str) -> Halt | None:
    """A halt when the deal needs no invoice (already synced, not won); a rejection when going on or
    stopping quietly would both be wrong; None: invoice it."""
    markers = deal.markers
    # What the ledger shows of a transaction that stops here: the deal as the CRM has it.
    shown = {"deal_name": deal.name, "amount": "" if deal.amount is None else str(deal.amount),
             "currency": deal.currency or ""}
    synced = markers.sync_status == "synced" and bool(markers.invoice_id)
    if request.round > 0:
        # A person's retry after a rollback that could not finish: undos may still be owed, so the
        # saga must not end here as if nothing had been done. Going on is only right for a deal that
        # is still won, and not invoiced by another transaction; otherwise the owed undos run.
        if synced and markers.transaction_id != request.tx_id:
            raise BusinessRejection(
                f"deal {deal.id} was invoiced by {markers.transaction_id or 'another transaction'} "
                f"({markers.invoice_number or markers.invoice_id}) meanwhile; this transaction is rolled back",
                service="sync", code="invoiced_elsewhere")
        if deal.stage != trigger_stage:
            raise BusinessRejection(
                f"deal {deal.id} is in stage {deal.stage!r}, no longer {trigger_stage!r}: it is rolled back",
                service="sync", code="no_longer_won")
    elif deal.stage != trigger_stage and _claimed_by_earlier(markers, deal.id, request.tx_id):
        # An earlier attempt of this deal stopped after its claim, and the deal is no longer won: ending
        # "skipped" would leave the deal locked "in progress" with nothing left to release it.
        raise BusinessRejection(
            f"deal {deal.id} is in stage {deal.stage!r}, no longer {trigger_stage!r}, and still shows "
            f"'in progress' from {markers.transaction_id}, which stopped: clear the deal's invoice sync "
            "status in the CRM", service="sync", code="stale_claim")
    elif synced:
        return Halt("already_synced", {**shown, "external_ids": {
            "deal": deal.id, "invoice": markers.invoice_id, "invoice_number": markers.invoice_number}})
    elif deal.stage != trigger_stage:
        return Halt("skipped", {**shown, "external_ids": {"deal": deal.id},
                                "reason": f"deal is in stage {deal.stage!r}, not {trigger_stage!r}"})
    return None


def _claimed_by_earlier(markers: SyncMarkers, deal_id: str, tx_id: str) -> bool:
    return (markers.sync_status == "in_progress" and markers.transaction_id != tx_id
            and generation_of(deal_id, markers.transaction_id) is not None)


def write_markers(request: MarkersInput, crm: CrmPort) -> MarkersResult:
    """PATCH the deal's sync markers to known values (claim, write-back, and their undos).

    The paid markers are never written here: they belong to the paid-invoice write-back, which may
    land first (this write retrying through 429s, or re-run after a lost answer); writing the values
    read before the saga would erase them, and Xero's later events for the invoice are not acted on.

    A deal deleted in the CRM meanwhile cannot be claimed or written back: that is a rejection saying
    so (the saga rolls the invoice back); for an undo there is nothing left to restore, so it is done.
    """
    try:
        crm.update_markers(request.deal_id, request.values.model_dump(exclude=set(PAID_MARKERS)))
    except PermanentError as exc:
        if exc.code != "not_found":
            raise
        if request.undo:
            return MarkersResult(deal_id=request.deal_id, written=request.values, deal_gone=True)
        raise BusinessRejection(
            f"deal {request.deal_id} was deleted in the CRM while it was being invoiced: "
            "what was done for it is rolled back", service=exc.service, code="deal_deleted") from None
    return MarkersResult(deal_id=request.deal_id, written=request.values)


def ensure_customer(request: EnsureCustomerInput, crm: CrmPort, accounting: AccountingPort,
                    rules: MappingRules | None = None, customers: CustomerMap | None = None) -> EnsureCustomerResult:
    """The company's customer in accounting: the one carrying its id (ContactNumber), else a new one.

    A contact is this company's only by that id. Another customer of the same name is never used: the
    new one is named ``"<name> (HubSpot <id>)"``, or the deal is rolled back (``customer_name_collision``).
    The customer map records the one reactivated, adopted or created (an upsert: a re-run writes it again).
    """
    if request.look_up:
        # The load was batched and read no customer: the one lookup happens here, as the load's would have.
        found = find_company_customer(request.company_id, accounting, customers, include_archived=True)
        request = request.model_copy(update={"existing": found, "look_up": False})
    if request.existing is not None and request.existing.status != "ARCHIVED":
        # Found by the load step, which read it from the map or recorded it there.
        return EnsureCustomerResult(customer=request.existing, created=False,
                                    external_ids={"customer": request.existing.id})
    result = _reactivate_or_create(request, crm, accounting, rules or MappingRules(), customers)
    remember(customers, request.company_id, result.customer.id)
    return result


def _reactivate_or_create(request: EnsureCustomerInput, crm: CrmPort, accounting: AccountingPort,
                          rules: MappingRules, customers: CustomerMap | None) -> EnsureCustomerResult:
    if request.existing is not None:
        # Archived (e.g. by an earlier rollback): bring it back; the undo archives it again.
        ref = accounting.reactivate_customer(request.existing.id)
        return EnsureCustomerResult(customer=ref, created=True, external_ids={"customer": ref.id})
    if request.may_exist:
        # An earlier attempt's batch may have made it (under the batch's key): never make a second one. Whose
        # it is cannot be told apart from another deal's of the same company, so the undo keeps it.
        found = find_company_customer(request.company_id, accounting, customers, include_archived=False)
        if found is not None:
            return EnsureCustomerResult(customer=found, created=False, external_ids={"customer": found.id})
    customer = customer_for(request, crm)
    company_id = customer.external_id
    # The key makes a re-run of this activity (crash after the create) return the same contact.
    try:
        ref = accounting.create_customer(customer, idempotency_key(request.tx_id, "customer", request.round))
    except BusinessRejection:
        # Xero refuses a second active contact of the same name. Another deal of this company may
        # have created ours since the lookup (it carries the company id: use it, never undo it)...
        ours = find_company_customer(company_id, accounting, customers, include_archived=False)
        if ours is not None:
            return EnsureCustomerResult(customer=ours, created=False, external_ids={"customer": ours.id})
        # ...or the name is another customer's: theirs is never ours, whatever the name says.
        holders = accounting.find_customers_named(customer.name)
        if not holders:
            raise  # refused for another reason: the API's own words go to the person
        if rules.customer_name_collision == "reject":
            holder = holders[0]
            whose = f"for company {holder.external_id}" if holder.external_id else "kept by hand"
            raise BusinessRejection(
                f"the accounting system already has a customer named {customer.name!r} ({whose}), which is "
                f"not CRM company {company_id}'s: rename one of them, or set CUSTOMER_NAME_COLLISION=disambiguate",
                service="sync", code="customer_name_taken",
                details={"customer_id": holder.id, "company_id": company_id}) from None
        renamed = customer.model_copy(update={"name": disambiguated_name(customer.name, company_id)})
        ref = accounting.create_customer(renamed, idempotency_key(request.tx_id, "customer-renamed", request.round))
    return EnsureCustomerResult(customer=ref, created=True, external_ids={"customer": ref.id})


def customer_for(request: EnsureCustomerInput, crm: CrmPort) -> Customer:
    """The customer to create for the request's company (named after it; its e-mail, else its first contact's)."""
    # The load step may have read the company and contact already (one GraphQL call): no second read.
    company = request.company or crm.get_company(request.company_id)
    email, first, last = company.email, None, None
    if not email and request.contact_ids:
        person = request.first_contact or crm.get_person(request.contact_ids[0])
        email, first, last = person.email, person.first_name, person.last_name
    return Customer(external_id=company.id, name=company.name, email=email, first_name=first, last_name=last)


def archive_customer_if_created(request: ArchiveCustomerInput, accounting: AccountingPort) -> ArchiveCustomerResult:
    """Undo of ensure_customer: archive the customer only if this transaction created it, and no invoice uses it.

    This deal's own invoice still standing (its undo failed: paid, or the void refused) must be dealt
    with first: archiving its contact would strand it, so the undo fails and says so, and a person's
    ``compensate`` runs it again after the invoice. Another deal's invoice on the same customer (a
    concurrent deal adopted the contact we created) keeps the customer: it is theirs now too.

    The customer map's row is kept: it says which contact is the company's, and an archived contact still
    is (it carries the company id). The next deal reads it by id and reactivates it, as the search would
    have found it; clearing the row could also race a concurrent deal that adopted the contact and needs it.
    """
    if request.existed_before or request.created is False:
        return ArchiveCustomerResult(outcome="kept", customer_id=request.customer_id)
    customer_id = request.customer_id
    if customer_id is None:
        # The create was never confirmed: it may or may not have happened. Before the step the
        # customer did not exist, so one that exists now with this company's id is ours.
        found = accounting.find_customer(request.company_id)
        if found is None:
            return ArchiveCustomerResult(outcome="absent")
        customer_id = found.id
    live = accounting.find_live_invoices(customer_id)
    ours = [i for i in live if request.reference and i.reference == request.reference]
    if ours:
        raise own_invoice_stands(ours)
    if live:
        return ArchiveCustomerResult(outcome="in_use", customer_id=customer_id)
    accounting.archive_customer(customer_id)
    return ArchiveCustomerResult(outcome="archived", customer_id=customer_id)


def own_invoice_stands(ours: list[InvoiceRef]) -> BusinessRejection:
    """The archive's refusal while the deal's own invoice still stands (single and batched undos)."""
    return BusinessRejection(
        f"the customer is kept: this deal's invoice {ours[0].number} is still {ours[0].status}; "
        "it is archived once that invoice is voided or credited",
        service="sync", code="customer_in_use", details={"invoices": [i.id for i in ours]})


def create_invoice(request: CreateInvoiceInput, accounting: AccountingPort, rules: MappingRules,
                   org: OrgSource | None = None) -> CreateInvoiceResult:
    draft = build_invoice(request.deal, request.line_items, request.customer_id, request.today,
                          check_mapping(rules, org))
    if request.round > 0 or request.after_stranded or request.may_exist:
        # A person's retry (a later round, or a new generation after an orchestration that stopped) uses
        # a new idempotency key; an invoice an earlier attempt left standing (a rollback that could not
        # void it, a saga that stopped half-way) must be reused, not duplicated. Other first attempts
        # need no lookup: nothing of theirs can stand (a skipped or rolled-back one left none), unless an
        # earlier attempt went through a batch, whose key is not this one (``may_exist``).
        for existing in accounting.find_invoices_by_reference(draft.reference):
            if existing.status in LIVE_INVOICE:
                return _invoice_result(existing, accounting, reused=True)
    ref = accounting.create_invoice(draft, idempotency_key(request.tx_id, "invoice", request.round))
    return _invoice_result(ref, accounting, reused=False)


def _invoice_result(ref: InvoiceRef, accounting: AccountingPort, *, reused: bool) -> CreateInvoiceResult:
    # The link into the accounting app needs no call: the budget per invoice is tight (Xero: 60/min).
    linked = ref.model_copy(update={"url": ref.url or accounting.invoice_link(ref.id)})
    return CreateInvoiceResult(invoice=linked, reused=reused,
                               external_ids={"invoice": ref.id, "invoice_number": ref.number})


def undo_invoice_if_present(request: UndoInvoiceInput, accounting: AccountingPort) -> UndoInvoiceResult:
    """Undo of create_invoice: void or delete the invoice if it exists (PAID raises BusinessRejection)."""
    ids = [request.invoice_id] if request.invoice_id else [
        inv.id for inv in accounting.find_invoices_by_reference(request.reference) if inv.status in LIVE_INVOICE
    ]
    return UndoInvoiceResult(outcomes={invoice_id: accounting.undo_invoice(invoice_id) for invoice_id in ids})


__all__ = [
    "archive_customer_if_created",
    "create_invoice",
    "customer_for",
    "ensure_customer",
    "load_deal",
    "own_invoice_stands",
    "reference_for",
    "undo_invoice_if_present",
    "write_markers",
]
