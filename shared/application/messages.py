"""The plain JSON messages between triggers, the batch orchestrators and the start activities."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.sync.life_events import Event, OnChanged, OnLost
from shared.sync.policy import SagaPolicy


class StartReport(BaseModel):
    """Which instances a starter started, which it found already there, and which it must try again
    (plain JSON across activities).

    ``waiting`` maps a deal to its transaction that is still finishing without having taken this win
    in hand (it read the deal before the win, or has not read it yet): the caller tries the deal again
    once that run has ended, so the win starts the next generation instead of being swallowed.
    """

    model_config = ConfigDict(extra="forbid")

    started: list[str] = Field(default_factory=list)
    duplicates: list[str] = Field(default_factory=list)
    waiting: dict[str, str] = Field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class DealSyncStarts(BaseModel):
    """The deals one webhook delivery accepted: the input of ``webhook_batch`` and of ``start_deal_syncs``."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    deal_ids: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]] = Field(min_length=1, max_length=100)
    trigger: str = "webhook"
    policy: SagaPolicy = Field(default_factory=SagaPolicy)  # frozen when the webhook was accepted
    accepted_at: str = ""  # when (UTC, ISO 8601): a deal's run begun since then reads the deal after these events


class LifeEventStarts(BaseModel):
    """The input of ``life_event_batch`` and of ``start_life_events``: the settings frozen at acceptance."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    events: dict[str, Event] = Field(min_length=1, max_length=100)  # deal id -> what happened
    on_changed: OnChanged = "update"
    on_lost: OnLost = "void"
    trigger: str = "webhook"
    policy: SagaPolicy = Field(default_factory=SagaPolicy)
    accepted_at: str = ""
