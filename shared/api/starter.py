"""Starting orchestrations from triggers, deduplicated by transaction id (plain async code behind a client port)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared import names
from shared.config import Settings
from shared.sync.identity import transaction_id
from shared.sync.policy import DealSyncInput, SagaPolicy

ACTIVE = frozenset({"Running", "Pending", "ContinuedAsNew", "Suspended"})


class InstanceInfo(Protocol):
    @property
    def runtime_status(self) -> str | None: ...

    @property
    def output(self) -> Any: ...


class DurableClient(Protocol):
    """What starters need from the durable client; the blueprint adapts ``DurableOrchestrationClient``."""

    async def status(self, instance_id: str) -> InstanceInfo | None: ...

    async def start(self, orchestrator: str, instance_id: str, input_: Any) -> str: ...

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None: ...

    async def entity_state(self, entity: str, key: str) -> Any: ...


@dataclass
class StartReport:
    started: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"started": self.started, "duplicates": self.duplicates}


def _counts_as_existing(info: InstanceInfo | None) -> bool:
    if info is None or info.runtime_status is None:
        return False
    # A run that found the deal not yet won ("skipped") must not block the run for its win.
    output = info.output if isinstance(info.output, dict) else {}
    return not (info.runtime_status == "Completed" and output.get("status") == "skipped")


async def start_deal_syncs(client: DurableClient, deal_ids: Iterable[str], trigger: str,
                           settings: Settings) -> StartReport:
    """Start ``deal_sync`` for each deal that has no transaction yet; the rest are duplicates."""
    report = StartReport()
    policy = SagaPolicy.from_settings(settings)
    for deal_id in dict.fromkeys(deal_ids):  # in order, each once
        tx_id = transaction_id(deal_id)
        if _counts_as_existing(await client.status(tx_id)):
            report.duplicates.append(tx_id)
            continue
        try:
            await client.start(names.DEAL_SYNC, tx_id,
                               DealSyncInput(deal_id=deal_id, trigger=trigger, policy=policy).model_dump(mode="json"))
        except Exception:
            # The host refuses an id that is running: another trigger won the race for this deal.
            report.duplicates.append(tx_id)
        else:
            report.started.append(tx_id)
    return report


async def start_batch(client: DurableClient, settings: Settings, *, since: str | None, trigger: str) -> str | None:
    """Start the singleton batch; None if one is still running (overlapping schedules never double-run)."""
    info = await client.status(names.BATCH_INSTANCE_ID)
    if info is not None and info.runtime_status in ACTIVE:
        return None
    payload = {"since": since, "stage": settings.hubspot_trigger_stage, "page_size": settings.batch_page_size,
               "concurrency": settings.batch_concurrency, "trigger": trigger,
               "policy": SagaPolicy.from_settings(settings).model_dump(mode="json")}
    await client.start(names.BATCH_SYNC, names.BATCH_INSTANCE_ID, payload)
    return names.BATCH_INSTANCE_ID
