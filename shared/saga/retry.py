"""The one retry loop for durable calls: durable timers, ``Retry-After``, pacing of 429s, and a deadline.

Saga steps, their undos and the orchestrators' own calls (ledger writes, searches, starts) all retry
through ``call_with_retries``. It runs inside an orchestrator with ``yield from``, so everything here is
replay-safe: time only from ``ctx.current_utc_datetime``, waits only as durable timers, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from shared.saga.envelope import decode_failure
from shared.saga.outcome import StepError
from shared.saga.policy import RetryPolicy

JsonDict = dict[str, Any]

# Without a deadline (undos, the orchestrators' own calls), and for quota waits (which move the deadline),
# this many paced retries give up: a quota that never resets must not keep an instance waiting for ever.
MAX_PACED_RETRIES = 200

# Transient failures that are the vendor's service being away, not the call going wrong: like a 429 they
# use no attempts and only the deadline ends them (an identity service down for ten minutes must delay
# deals, not roll them back once six quick attempts are spent).
PACED_CODES = frozenset({"rate_limited", "quota_exhausted", "auth_unavailable", "xero_disconnected"})
# Waits for a person or a reset measured in hours: they do not count against the deadline either.
QUOTA_CODES = frozenset({"quota_exhausted", "xero_disconnected"})


class CallContext(Protocol):
    """The part of the orchestration context a retried call uses."""

    @property
    def current_utc_datetime(self) -> datetime: ...

    def call_activity(self, name: str, input_: Any = None) -> Any: ...

    def create_timer(self, fire_at: datetime) -> Any: ...


Phase = Literal["started", "succeeded", "retrying", "failed"]
# Told of each phase (attempt number, the error, the wait before the next attempt, the result); a generator
# whose yielded durable tasks run before the call goes on (the saga's observer writes the timeline).
Report = Callable[[Phase, int, StepError | None, float | None, Any], Iterator[Any]]


def _silent(*_args: Any) -> Iterator[Any]:
    return iter(())


@dataclass
class Called:
    """What a call came to, once it succeeded or the policy (or the deadline) gave up."""

    ok: bool
    tries: int  # attempts begun, including one the deadline stopped before it ran
    result: Any = None
    halt: str | None = None  # a saga step that said there is nothing to do
    error: StepError | None = None
    failure_text: str = ""  # the host's first line for a failure (a call outside the envelope)
    quota_wait: float = 0.0  # seconds waited for a quota reset: the caller moves its own deadline by as much


def _paced(error: StepError) -> bool:
    return error.kind == "transient" and (error.status == 429 or error.code in PACED_CODES)


def _quota(error: StepError) -> bool:
    """A quota that resets after hours (Xero's daily limit): the wait is the quota's, not the step's.

    Waiting for the reset does not count against the saga's deadline: rolling back a healthy deal
    because the organisation ran out of calls for the day would leave a person to press Retry for
    each one, and its undo would need the same exhausted quota anyway. Keyed on the error code (set
    by the connector from ``X-Rate-Limit-Problem``), never on the wait's length, so that histories
    recorded before the code existed replay the same decisions. A disconnected Xero Web app waits the
    same way: for a person to reconnect, with nothing rolled back meanwhile.
    """
    return error.kind == "transient" and error.code in QUOTA_CODES


def _error(raw: JsonDict, label: str, attempt: int) -> StepError:
    data = {k: v for k, v in raw.items() if k not in ("step", "attempts")}
    data.setdefault("kind", "transient")
    return StepError(**data, step=label, attempts=attempt)


class Attempt(Protocol):
    """How one attempt is made: by default the activity is called (``single_attempt``); a batched step hands
    its payload to a batch instead and waits for its own reply, normalised the same way."""

    def __call__(self, ctx: Any, activity: str, payload: Any, envelope: bool,
                 attempt: int) -> Generator[Any, Any, JsonDict]: ...


def single_attempt(ctx: CallContext, activity: str, payload: Any, envelope: bool,
                   _attempt: int = 1) -> Generator[Any, Any, JsonDict]:
    """One attempt, normalised to ``{"ok": ...}`` whether the activity returned or raised.

    ``envelope``: the activity answers with ``run_activity``'s envelope, whose ``{"ok": false}`` is a
    business rejection; otherwise whatever it returned is its result.
    """
    try:
        reply = yield ctx.call_activity(activity, payload)
    except Exception as exc:  # the SDK surfaces every activity failure as a bare Exception
        text = str(exc)
        return {"ok": False, "error": decode_failure(text), "text": text.split(" \n ", 1)[0][:500]}
    if envelope and isinstance(reply, dict) and "ok" in reply:
        return reply
    return {"ok": True, "result": reply}


def call_with_retries(
    ctx: CallContext,
    activity: str,
    payload: Any,
    policy: RetryPolicy,
    *,
    label: str = "",
    deadline: datetime | None = None,
    report: Report = _silent,
    envelope: bool = True,
    attempt_with: Attempt | None = None,
) -> Generator[Any, Any, Called]:
    """Call ``activity`` until it succeeds, fails for good, or the policy or ``deadline`` gives up.

    Only transient failures are retried; a 429 waits its ``Retry-After``. ``label`` names the call in its
    errors (the saga step). ``attempt_with`` makes each attempt (default: call the activity).
    """
    make_attempt = attempt_with or single_attempt
    attempt = spent = paced = 0  # spent: attempts that count against the policy (every failure but a paced one)
    quota_wait = 0.0
    while True:
        attempt += 1
        if deadline is not None and ctx.current_utc_datetime >= deadline:
            error = StepError(kind="permanent", code="deadline_exceeded", message="the saga's deadline passed",
                              step=label, attempts=attempt - 1)
            yield from report("failed", attempt - 1, error, None, None)
            return Called(ok=False, tries=attempt, error=error, quota_wait=quota_wait)
        yield from report("started", attempt, None, None, None)
        reply = yield from make_attempt(ctx, activity, payload, envelope, attempt)
        if reply["ok"]:
            yield from report("succeeded", attempt, None, None, reply.get("result"))
            halt = reply.get("halt")
            return Called(ok=True, tries=attempt, result=reply.get("result"), halt=str(halt) if halt else None,
                          quota_wait=quota_wait)
        error = _error(reply["error"], label, attempt)
        if policy.pace and _paced(error):
            paced += 1
        else:
            spent += 1
        # Paced waits are bounded by the deadline, or by a count where nothing else bounds them.
        bounded_by_deadline = deadline is not None and not _quota(error)
        retryable = (error.kind == "transient" and not policy.gives_up_after(spent)
                     and (bounded_by_deadline or paced <= MAX_PACED_RETRIES))
        if retryable:
            delay = policy.delay(attempt, error.retry_after)
            fire_at = ctx.current_utc_datetime + timedelta(seconds=delay)
            if deadline is not None and _quota(error):
                deadline += timedelta(seconds=delay)
                quota_wait += delay
            if deadline is None or fire_at < deadline:
                yield from report("retrying", attempt, error, delay, None)
                yield ctx.create_timer(fire_at)
                continue
        yield from report("failed", attempt, error, None, None)
        return Called(ok=False, tries=attempt, error=error, failure_text=str(reply.get("text", "")),
                      quota_wait=quota_wait)
