"""Counters exposed by `GET /_devhost/stats` (benchmarks and reliability tests read them)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Stats:
    """Monotonic counters; instance counts by status are computed by the engine on demand."""

    def __init__(self) -> None:
        self.activity_executions: Counter[str] = Counter()
        self.orchestrator_episodes = 0
        self.history_events_appended = 0
        self.entity_operations = 0
        self.entity_batches = 0
        self.activity_results_discarded = 0
        self.orchestrations_completed = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "activity_executions": dict(self.activity_executions),
            "activity_executions_total": sum(self.activity_executions.values()),
            "activity_results_discarded": self.activity_results_discarded,
            "orchestrator_episodes": self.orchestrator_episodes,
            "history_events_appended": self.history_events_appended,
            "entity_operations": self.entity_operations,
            "entity_batches": self.entity_batches,
            "orchestrations_completed": self.orchestrations_completed,
        }
