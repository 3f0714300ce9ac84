"""One log line for each transaction a person has to act on: the line the alert rule in ``infra/`` matches.

The status page shows everything, but nobody watches it all day. When a transaction ends in
``needs_attention`` (an undo is left to do) or the saga rolled it back (the deal is not invoiced until
someone fixes the data and presses Retry), the ledger write logs one WARNING line that starts with
``PREFIX`` and carries ``status=`` then ``transaction=`` first, so that a log query can parse it. The
line names what is left to do and the API's reason; it never carries settings, tokens or request data.
"""

from __future__ import annotations

import json
import logging

from shared.domain.transaction import ABANDONED_STEP, TransactionState

log = logging.getLogger(__name__)

PREFIX = "sync attention:"
MAX_REASON = 300


def attention_line(state: TransactionState) -> str | None:
    """The line for ``state``, or None when no one needs to act on it.

    A rollback a person asked for (``compensate``) is what they wanted: no line for it.
    """
    if state.status == "compensated":
        into = [t for t in state.transitions if t.to_status == "compensating"]
        if into and into[-1].by != "saga":  # the last rollback was the person's own decision
            return None
    elif state.status == "completed":
        if not (state.reason or {}).get(ABANDONED_STEP):  # e.g. invoiced, but the e-mail was not sent
            return None
    elif state.status != "needs_attention":
        return None
    reason = state.reason or {}
    parts = [f"status={state.status}", f"transaction={state.id}", f"deal={state.deal_id}"]
    if state.failed_step:
        parts.append(f"step={state.failed_step}")
    elif (state.reason or {}).get(ABANDONED_STEP):
        parts.append(f"step={_token(str((state.reason or {})[ABANDONED_STEP]))}")
    for key in ("service", "code"):
        value = str(reason.get(key) or "")
        if value:
            parts.append(f"{key}={_token(value)}")
    # In the order they must be done: the undos run newest first (the list is in registration order).
    left = [str(c.get("step", "")) for c in reversed(state.pending_compensations) if c.get("step")]
    if left:
        parts.append("undos_left=" + ",".join(_token(step) for step in left))
    # Whitespace runs become one space and other unprintable characters (NUL, RTL overrides) "_".
    words = " ".join(str(reason.get("message") or "").split())
    message = "".join(ch if ch.isprintable() else "_" for ch in words)[:MAX_REASON]
    if message:
        parts.append("reason=" + json.dumps(message, ensure_ascii=False))
    return f"{PREFIX} " + " ".join(parts)


def report(state: TransactionState) -> None:
    """Log ``attention_line(state)`` as a WARNING, if there is one (at least once: alerts count distinct ids)."""
    line = attention_line(state)
    if line is not None:
        log.warning("%s", line)


def mapping_refused_line(batch_id: str, message: str) -> str:
    """The line for a batch that started no deal because the invoice mapping names codes the organisation
    lacks: every later batch stops the same way until a person fixes the mapping or the organisation."""
    words = "".join(ch if ch.isprintable() else "_" for ch in " ".join(message.split()))[:MAX_REASON]
    return (f"{PREFIX} status=mapping_refused transaction={_token(batch_id)} service=sync code=mapping_code_missing "
            f"reason={json.dumps(words, ensure_ascii=False)}")


def _token(value: str) -> str:
    """A value kept to one space-free token, so that the line stays parseable."""
    return "".join(ch if ch.isprintable() and not ch.isspace() else "_" for ch in value)[:80]
