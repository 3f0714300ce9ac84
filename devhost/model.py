"""The persisted state records: orchestration instances and entities (plain data, JSON round-trippable)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})


@dataclass
class Instance:
    instance_id: str
    name: str
    execution_id: str
    status: str  # Pending | Running | Suspended | Completed | Failed | Terminated (| ContinuedAsNew transiently)
    input_text: str | None  # ExecutionStarted.Input (JSON text, §1)
    created: float  # epoch seconds (host clock)
    last_updated: float
    version: str = ""
    output_text: str | None = None  # JSON text
    custom_status: Any = None  # raw JSON value from the reply
    parent: dict[str, Any] | None = None  # {instance_id, execution_id, task_id, name}
    history: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # messages for the next episode
    next_id: int = 0  # DTFx idCounter (§2.5)
    leaves_done: int = 0  # actions are cumulative: how many leaves were already handled (§6.7)
    leaf_record: list[dict[str, Any]] = field(default_factory=list)  # {k: kind, n: name, id: seq id|None}
    retries: dict[str, dict[str, Any]] = field(default_factory=dict)  # original leaf id -> retry state
    retry_by_attempt: dict[str, str] = field(default_factory=dict)  # attempt seq id -> original leaf id
    retry_timers: dict[str, str] = field(default_factory=dict)  # retry timer seq id -> original leaf id
    timers: dict[str, str] = field(default_factory=dict)  # pending durable timers: seq id -> fireAt
    inflight: dict[str, dict[str, Any]] = field(default_factory=dict)  # dispatched work: seq id -> work item
    suspended: bool = False
    last_episode_ts: float = 0.0  # episodes' timestamps never decrease (§6.5)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def allocate_id(self) -> int:
        """The next sequence id of this execution, as DTFx's idCounter hands them out (§2.5)."""
        sid = self.next_id
        self.next_id += 1
        return sid

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Instance:
        return cls(**data)


@dataclass
class EntityRecord:
    entity_id: str  # scheduler id "@name@key" (§3.1: name lower-cased, key keeps its case)
    name: str
    key: str
    exists: bool = False
    state: str | None = None  # JSON text of the state
    queue: list[dict[str, Any]] = field(default_factory=list)  # {op, input, id, parent, parentExecution, signal}
    last_modified: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EntityRecord:
        return cls(**data)
