"""Starting one instance exactly once (status read first, a refused start checked again), and the starters' report."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shared.application.messages import StartReport
from shared.application.ports import ACTIVE, DurableClient, InstanceInfo

Seen = Callable[[InstanceInfo | None], bool]


async def start_unless_seen(client: DurableClient, orchestrator: str, instance_id: str, input_: Any,
                            seen: Seen) -> bool:
    """Start ``instance_id`` unless ``seen`` says it is already there; True if this call started it.

    The status is read first because the host replaces a *completed* instance on a start with its id. A
    refused start is a duplicate only if the instance is there now (a concurrent trigger won the race);
    any other failure (the task hub unreachable) raises, so that the caller's retry starts it: never lost.
    """
    info = await client.status(instance_id)
    if seen(info):
        return False
    return await start_unless_raced(client, orchestrator, instance_id, input_, seen)


async def start_unless_raced(client: DurableClient, orchestrator: str, instance_id: str, input_: Any,
                             seen: Seen) -> bool:
    """Start ``instance_id``; a refused start is a duplicate only if ``seen`` finds the instance there now."""
    try:
        await client.start(orchestrator, instance_id, input_)
    except Exception:
        if seen(await client.status(instance_id)):
            return False
        raise
    return True


def exists(info: InstanceInfo | None) -> bool:
    """The instance is there, in any state."""
    return info is not None and info.runtime_status is not None


async def start_unless_there(client: DurableClient, orchestrator: str, instance_id: str, input_: Any) -> bool:
    """Start ``instance_id`` unless an instance of that id exists (in any state); True if this call started it."""
    return await start_unless_seen(client, orchestrator, instance_id, input_, exists)


# A webhook batch that is running or has finished its starts needs nothing more; a failed or terminated one
# is started again by the next delivery of the same events.
_BATCH_SEEN = ACTIVE | {"Completed"}


def batch_seen(info: InstanceInfo | None) -> bool:
    return info is not None and info.runtime_status in _BATCH_SEEN


def report_of(outcomes: Iterable[tuple[str, str, str] | BaseException]) -> StartReport:
    """The report of per-deal ``(deal id, transaction id, "start" | "covered" | "wait")`` decisions, in order;
    the first failure raises (the caller's retry starts the rest: starts are idempotent)."""
    report = StartReport()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        deal_id, tx_id, decision = outcome
        if decision == "wait":
            report.waiting[deal_id] = tx_id
        else:
            (report.started if decision == "start" else report.duplicates).append(tx_id)
    return report
