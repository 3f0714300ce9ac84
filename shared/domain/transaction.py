"""The state machine of one sync transaction: its status, step timeline, compensation log and external ids.

``apply`` is the reducer the ``sync_transaction`` entity runs for every operation, and that the
orchestrator runs on its own copy to know when the status changed (so the ledger is written only
then). It is a pure function: the same commands in the same order always give the same state.

    pending ─▶ running ─▶ completed
                  │  └──▶ already_synced | skipped          (nothing to do)
                  ▼
             compensating ─▶ compensated
                  │    ▲
                  ▼    │ compensate (a person)
             needs_attention ─▶ running                     retry (a person)

    pending | running | compensating ─▶ needs_attention   stranded: the orchestration failed or
                                                          was terminated; a person takes over
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

TxStatus = Literal[
    "pending", "running", "completed", "compensating", "compensated", "needs_attention", "already_synced", "skipped"
]
TERMINAL: frozenset[str] = frozenset({"completed", "compensated", "already_synced", "skipped"})
ALLOWED: dict[str, frozenset[str]] = {
    "pending": frozenset({"running"}),
    "running": frozenset({"completed", "compensating", "already_synced", "skipped"}),
    "compensating": frozenset({"compensated", "needs_attention"}),
    "needs_attention": frozenset({"running", "compensating"}),
    "completed": frozenset(),
    "compensated": frozenset(),
    "already_synced": frozenset(),
    "skipped": frozenset(),
}
# A run that found the deal not yet won must not block the run for its win.
NOT_BLOCKING: frozenset[str] = frozenset({"skipped"})
MANUAL_ACTIONS: dict[str, TxStatus] = {"retry": "running", "compensate": "compensating"}
# The key of ``reason`` naming a forward-only step that failed for good in a completed transaction.
ABANDONED_STEP = "abandoned_step"
# A life event after invoicing (the deal changed, was lost or deleted) has nothing to roll back: it is applied
# (completed), found nothing to do (skipped), or is flagged for a person (needs_attention) and ends there.
LIFE_KINDS: frozenset[str] = frozenset({"invoice_update", "invoice_void"})
LIFE_ALLOWED: dict[str, frozenset[str]] = {
    "pending": frozenset({"running"}),
    "running": frozenset({"completed", "skipped", "needs_attention"}),
    **{status: frozenset() for status in ("completed", "compensating", "compensated", "needs_attention",
                                          "already_synced", "skipped")},
}
MAX_LOG = 200  # entity state must stay small; a runaway retry loop must not grow it without bound


class InvalidTransition(ValueError):
    """A command that the transaction's current state does not allow; the message says why."""


class StepRecord(BaseModel):
    name: str
    status: Literal["running", "retrying", "succeeded", "failed"] = "running"
    started_at: str = ""
    ended_at: str = ""
    attempts: int = 0
    last_error: dict[str, Any] | None = None
    retry_at: str = ""  # while retrying: when the next attempt is due (e.g. after Xero's daily limit resets)
    batch: dict[str, Any] | None = None  # made in a batch (BATCHED_STEPS): batch_id, size, element_id


class CompensationEntry(BaseModel):
    step: str
    status: Literal["running", "retrying", "done", "failed"]
    at: str
    attempt: int = 1
    error: dict[str, Any] | None = None


class Transition(BaseModel):
    from_status: str
    to_status: str
    at: str
    by: str = "saga"


class TransactionState(BaseModel):
    version: Literal[1] = 1
    id: str
    deal_id: str
    generation: int = 1
    round: int = 0
    trigger: str = ""
    # What the transaction does: "sync" invoices a won deal; a life event after invoicing is one of LIFE_KINDS.
    # Rows and entities written before kinds existed are syncs.
    kind: str = "sync"
    status: TxStatus = "pending"
    created_at: str = ""
    updated_at: str = ""
    ended_at: str = ""
    deal_name: str = ""
    amount: str = ""
    currency: str = ""
    deal_amount: str = ""  # the CRM deal's own amount, next to the invoice's (amount)
    amount_difference: str = ""  # amount - deal_amount
    steps: list[StepRecord] = Field(default_factory=list)
    compensation_log: list[CompensationEntry] = Field(default_factory=list)
    external_ids: dict[str, str] = Field(default_factory=dict)
    reason: dict[str, Any] | None = None
    failed_step: str = ""
    pending_compensations: list[dict[str, Any]] = Field(default_factory=list)
    transitions: list[Transition] = Field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


def _move(state: TransactionState, to: TxStatus, at: str, by: str = "saga") -> None:
    if to == state.status:
        return
    if to not in (ALLOWED if state.kind == "sync" else LIFE_ALLOWED)[state.status]:
        raise InvalidTransition(f"transaction {state.id} is {state.status}; it cannot become {to}")
    state.transitions.append(Transition(from_status=state.status, to_status=to, at=at, by=by))
    state.transitions = state.transitions[-MAX_LOG:]
    state.status = to
    if to in TERMINAL:
        state.ended_at = at


def _step(state: TransactionState, name: str) -> StepRecord:
    for record in state.steps:
        if record.name == name:
            return record
    record = StepRecord(name=name)
    state.steps.append(record)
    return record


def _later(at: str, seconds: Any) -> str:
    """``at`` plus ``seconds`` as ISO 8601, or "" when either is missing or unreadable."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return ""
    try:
        return (datetime.fromisoformat(at) + timedelta(seconds=float(seconds))).isoformat()
    except (ValueError, OverflowError):
        return ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ids(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items() if v} if isinstance(value, dict) else {}


Text = Annotated[str, BeforeValidator(_text)]


class StepShown(BaseModel):
    """What a step's result shows of the transaction, read from any step's result (the load step's and a
    halt's carry the deal's summary; most carry external ids); what is not text is not shown."""

    model_config = ConfigDict(extra="ignore")

    external_ids: Annotated[dict[str, str], BeforeValidator(_ids)] = Field(default_factory=dict)
    deal_name: Text = ""
    amount: Text = ""
    currency: Text = ""
    deal_amount: Text = ""
    amount_difference: Text = ""

    @classmethod
    def of(cls, result: Any) -> StepShown:
        return cls.model_validate(result) if isinstance(result, dict) else cls()


SHOWN_FIELDS = ("deal_name", "amount", "currency", "deal_amount", "amount_difference")


def _show(state: TransactionState, shown: StepShown) -> None:
    state.external_ids.update(shown.external_ids)
    for key in SHOWN_FIELDS:
        if getattr(shown, key):
            setattr(state, key, getattr(shown, key))


def _apply_event(state: TransactionState, event: dict[str, Any]) -> None:
    kind, name, at = str(event["type"]), str(event["step"]), str(event.get("at", ""))
    error = event.get("error")
    if kind.startswith("step_"):
        record = _step(state, name)
        if kind == "step_started":
            if record.status in ("succeeded", "failed") or not record.started_at:
                record.started_at, record.ended_at, record.last_error = at, "", None
            record.status, record.attempts, record.retry_at = "running", record.attempts + 1, ""
        elif kind == "step_retrying":
            record.status, record.last_error = "retrying", error
            record.retry_at = _later(at, event.get("delay_seconds"))
        elif kind == "step_succeeded":
            record.status, record.ended_at = "succeeded", at
            _show(state, StepShown.of(event.get("result")))
            batch = (event.get("result") or {}).get("batch") if isinstance(event.get("result"), dict) else None
            record.batch = batch if isinstance(batch, dict) else None
        elif kind == "step_abandoned":
            # A forward-only step (an e-mail) that failed for good: nothing is rolled back; the note stays.
            record.status, record.ended_at, record.last_error = "failed", at, error
            message = str((error or {}).get("message") or "")
            state.reason = {**(error or {}), ABANDONED_STEP: name,
                            "message": f"step {name} was not done (nothing is rolled back for it): {message}"}
        elif kind == "step_failed":
            record.status, record.ended_at, record.last_error = "failed", at, error
            state.failed_step, state.reason = name, error
            if state.status == "running":
                _move(state, "compensating", at)
        return
    status = {"compensation_started": "running", "compensation_retrying": "retrying",
              "compensation_succeeded": "done", "compensation_failed": "failed"}[kind]
    if state.status == "running":
        _move(state, "compensating", at)
    state.compensation_log.append(
        CompensationEntry(step=name, status=status, at=at, attempt=int(event.get("attempt", 1)), error=error)
    )
    state.compensation_log = state.compensation_log[-MAX_LOG:]


Command = dict[str, Any]


def apply(state: TransactionState | None, command: Command) -> TransactionState:
    """Return the state after ``command``; raise ``InvalidTransition`` if the state does not allow it."""
    op = command.get("op")
    at = str(command.get("at", ""))
    if op == "start":
        state = _start(state, command, at)
    elif state is None:
        raise InvalidTransition(f"no transaction to apply {op!r} to")
    else:
        handler = _OPERATIONS.get(str(op))
        if handler is None:
            raise InvalidTransition(f"unknown operation {op!r}")
        state = state.model_copy(deep=True)
        handler(state, command, at)
    state.updated_at = at or state.updated_at
    return state


def _start(state: TransactionState | None, command: Command, at: str) -> TransactionState:
    if state is None:
        state = TransactionState(id=str(command["id"]), deal_id=str(command["deal_id"]),
                                 generation=int(command.get("generation", 1)),
                                 trigger=str(command.get("trigger", "")), created_at=at,
                                 kind=str(command.get("kind") or "sync"))
    elif state.status != "pending":
        if state.status == "running" and state.round == int(command.get("round", 0)):
            return state  # a replayed or duplicated start is harmless
        raise InvalidTransition(f"transaction {state.id} is {state.status}; it cannot start again")
    state = state.model_copy(deep=True)
    _move(state, "running", at)
    return state


def _events(state: TransactionState, command: Command, _at: str) -> None:
    for event in command.get("events", []):
        _apply_event(state, event)


def _finish(state: TransactionState, command: Command, at: str) -> None:
    to = command["status"]
    if to in ("compensated", "needs_attention") and state.status == "running" and state.kind == "sync":
        _move(state, "compensating", at)
    _move(state, to, at)
    if command.get("reason") is not None:
        state.reason = command["reason"]
    if command.get("failed_step"):
        state.failed_step = str(command["failed_step"])
    state.pending_compensations = list(command.get("pending_compensations", []))


def _manual(state: TransactionState, command: Command, at: str) -> None:
    action = str(command.get("action"))
    if action not in MANUAL_ACTIONS:
        raise InvalidTransition(f"unknown action {action!r}; use retry or compensate")
    if state.status != "needs_attention":
        raise InvalidTransition(
            f"transaction {state.id} is {state.status}; {action} is only possible when it needs attention"
        )
    _move(state, MANUAL_ACTIONS[action], at, by=str(command.get("by", "person")))
    if action == "retry":
        state.round += 1
        state.reason, state.failed_step = None, ""


def _invoice_gone(state: TransactionState, command: Command, _at: str) -> None:
    # Its invoice was voided or deleted by hand in accounting: the transaction stays what it was
    # (it did invoice the deal), and says that the invoice is gone, so that Retry may invoice again.
    invoice_id = str(command.get("invoice_id", ""))
    if state.status != "completed" or state.external_ids.get("invoice", "").lower() != invoice_id.lower():
        raise InvalidTransition(f"transaction {state.id} is {state.status} and did not make invoice "
                                f"{invoice_id}; its end is not noted")
    gone = str(command.get("invoice_status", "")) or "VOIDED"
    state.external_ids["invoice_status"] = gone
    state.reason = {"kind": "business", "service": "xero", "code": INVOICE_GONE,
                    "message": str(command.get("message", ""))[:1000] or f"the invoice was {gone.lower()}"}


def _stranded(state: TransactionState, command: Command, at: str) -> None:
    # The orchestration failed or was terminated (a fault in the app, an operator): nothing will
    # move this transaction any more, so it must not go on saying it runs. A person takes over.
    if state.status not in STRANDABLE or is_stranded(state):
        raise InvalidTransition(f"transaction {state.id} is {state.status}; only a live one is stranded")
    state.transitions.append(Transition(from_status=state.status, to_status="needs_attention", at=at, by="host"))
    state.status = "needs_attention"
    state.reason = {"kind": "permanent", "service": "sync", "code": STRANDED,
                    "message": str(command.get("message", ""))[:1000]}


# Every operation but ``start`` (which may create the state), on a copy of the state.
_OPERATIONS: dict[str, Callable[[TransactionState, Command, str], None]] = {
    "events": _events, "finish": _finish, "manual": _manual, "invoice_gone": _invoice_gone, "stranded": _stranded,
}


STRANDED = "orchestration_failed"  # the reason code of a transaction whose orchestration stopped
# needs_attention too: a transaction waiting for a person whose orchestration then stopped can no
# longer take the decision, and must be offered a new attempt instead.
STRANDABLE: frozenset[str] = frozenset({"pending", "running", "compensating", "needs_attention"})


INVOICE_GONE = "invoice_voided"  # the reason code of a completed transaction whose invoice was voided or deleted


def invoice_gone(state: TransactionState) -> bool:
    """Whether the invoice this completed transaction made was voided or deleted in accounting since."""
    return state.status == "completed" and state.external_ids.get("invoice_status") in ("VOIDED", "DELETED")


def is_stranded(state: TransactionState) -> bool:
    return bool(state.reason) and state.reason.get("code") == STRANDED  # type: ignore[union-attr]


def check_manual(state: TransactionState | None, action: str) -> str | None:
    """Why a person's ``action`` is not possible now (for a 409), or None if it is."""
    if state is None:
        return "no such transaction"
    if is_stranded(state):
        return (f"the orchestration of {state.id} stopped ({(state.reason or {}).get('message', '')}); it cannot "
                "take a decision: undo what it did by hand, or press Retry to sync the deal as a new "
                "transaction (see docs/operations.md)")
    try:
        apply(state, {"op": "manual", "action": action})
    except InvalidTransition as exc:
        return str(exc)
    return None


def blocks_new_sync(status: str) -> bool:
    """Whether a deal's transaction in ``status`` means the deal must not be synced again automatically."""
    return status not in NOT_BLOCKING


