"""Entity scheduler: per-entity FIFO queues, one batch at a time, through the SDK's entity handle (§3)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

from devhost import rpc
from devhost.loader import FunctionIndex
from devhost.model import EntityRecord
from devhost.stats import Stats
from devhost.worker import Worker

log = logging.getLogger("devhost.entities")

MAX_BATCH = 50


def entity_scheduler_id(name: str, key: str) -> str:
    """`@name@key`: the extension lower-cases entity names, keys keep their case (§3.1)."""
    return f"@{name.lower()}@{key}"


def split_entity_id(entity_id: str) -> tuple[str, str]:
    """Inverse of entity_scheduler_id; the key may itself contain '@'."""
    _, name, key = entity_id.split("@", 2)
    return name, key


class EntityHost(Protocol):
    """What the scheduler needs from the engine."""

    def deliver_entity_response(
        self, instance_id: str, execution_id: str, request_id: str, payload: dict[str, Any]
    ) -> None: ...

    def mark_entity_dirty(self, record: EntityRecord) -> None: ...

    def flush(self) -> None: ...

    def busy_inc(self) -> None: ...

    def busy_dec(self) -> None: ...

    def now_epoch(self) -> float: ...


class EntityScheduler:
    def __init__(self, index: FunctionIndex, worker: Worker, stats: Stats, host: EntityHost) -> None:
        self.index = index
        self.records: dict[str, EntityRecord] = {}
        self._worker = worker
        self._stats = stats
        self._host = host
        self._running: set[str] = set()

    def get_or_create(self, name: str, key: str) -> EntityRecord:
        eid = entity_scheduler_id(name, key)
        rec = self.records.get(eid)
        if rec is None:
            rec = EntityRecord(entity_id=eid, name=name.lower(), key=key)
            self.records[eid] = rec
        return rec

    def enqueue(self, name: str, key: str, op: dict[str, Any]) -> EntityRecord:
        """Append one request message; FIFO per entity (§6.12). The caller flushes (persist, then kick)."""
        rec = self.get_or_create(name, key)
        rec.queue.append(op)
        self._host.mark_entity_dirty(rec)
        return rec

    def read_state(self, name: str, key: str) -> tuple[bool, str | None]:
        rec = self.records.get(entity_scheduler_id(name, key))
        if rec is None or not rec.exists:
            return False, None
        return True, rec.state

    def kick(self, rec: EntityRecord) -> None:
        if rec.queue and rec.entity_id not in self._running:
            self._running.add(rec.entity_id)
            self._host.busy_inc()
            asyncio.get_running_loop().create_task(self._drain(rec.entity_id))

    async def _drain(self, entity_id: str) -> None:
        try:
            while True:
                rec = self.records.get(entity_id)
                if rec is None or not rec.queue:
                    return
                await self._run_batch(rec)
        except Exception:  # never let a scheduler bug kill the loop silently
            log.exception("entity batch for %s crashed", entity_id)
        finally:
            self._running.discard(entity_id)
            self._host.busy_dec()

    async def _run_batch(self, rec: EntityRecord) -> None:
        batch = rec.queue[:MAX_BATCH]
        info = self.index.entities.get(rec.name.lower())
        results: list[dict[str, Any]]
        if info is None:
            msg = f"The function '{rec.name}' doesn't exist, is disabled, or is not an entity function."
            results = [{"isError": True, "result": json.dumps(msg)} for _ in batch]
        else:
            request = {
                "self": {"name": rec.name, "key": rec.key},
                "exists": rec.exists,
                "state": rec.state if rec.exists else None,
                "batch": [
                    {"name": op["op"], "input": op.get("input"), "isSignal": bool(op.get("signal"))} for op in batch
                ],
            }
            try:
                done = await self._worker.invoke(info.function_id, {info.trigger_name: rpc.string(json.dumps(request))})
                if not done.ok or done.return_text is None:
                    raise RuntimeError(done.error or "the entity function returned nothing")
                reply: dict[str, Any] = json.loads(done.return_text)
                rec.exists = bool(reply.get("entityExists"))
                # After destruct_on_exit the SDK sends entityState "null" with entityExists false (§3.2).
                rec.state = reply.get("entityState") if rec.exists else None
                results = list(reply.get("results") or [])
            except Exception as exc:  # the whole batch failed: every op reports the error
                log.exception("entity function %s failed", info.name)
                results = [{"isError": True, "result": json.dumps(str(exc))} for _ in batch]
        self._stats.entity_batches += 1
        self._stats.entity_operations += len(batch)
        del rec.queue[: len(batch)]
        rec.last_modified = self._host.now_epoch()
        self._host.mark_entity_dirty(rec)
        for i, op in enumerate(batch):
            if op.get("signal") or not op.get("parent"):
                continue
            res = results[i] if i < len(results) else {"isError": True, "result": json.dumps("no result")}
            # ResponseMessage (§2.6.6): exceptionType is omitted on success; its presence marks an error.
            payload: dict[str, Any] = {"result": res.get("result")}
            if res.get("isError"):
                payload["exceptionType"] = "Error"
            self._host.deliver_entity_response(op["parent"], op.get("parentExecution") or "", op["id"], payload)
        self._host.flush()
