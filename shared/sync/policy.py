"""The saga's retry and deadline policy, read from settings by starters and carried in the orchestration input.

Orchestrators must not read settings themselves: a setting changed while an instance is in flight
would make its replays take different decisions. The input freezes the policy for the instance.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.config import Settings
from shared.saga.policy import RetryPolicy


class SagaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    step_max_attempts: int = Field(default=6, ge=1)
    step_retry_first_seconds: float = Field(default=2.0, gt=0)
    step_retry_max_seconds: float = Field(default=300.0, gt=0)
    compensation_max_attempts: int = Field(default=10, ge=1)
    deadline_minutes: int = Field(default=120, ge=1)
    # SEND_INVOICE_EMAIL: the saga's last step e-mails the invoice (frozen in the input like the rest).
    send_invoice_email: bool = False

    @classmethod
    def from_settings(cls, s: Settings) -> SagaPolicy:
        return cls(step_max_attempts=s.step_max_attempts, step_retry_first_seconds=s.step_retry_first_seconds,
                   step_retry_max_seconds=s.step_retry_max_seconds,
                   compensation_max_attempts=s.compensation_max_attempts, deadline_minutes=s.saga_deadline_minutes,
                   send_invoice_email=s.send_invoice_email)

    def step_retry(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.step_max_attempts, first_interval=self.step_retry_first_seconds,
                           max_interval=self.step_retry_max_seconds)

    def compensation_retry(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.compensation_max_attempts, first_interval=self.step_retry_first_seconds,
                           max_interval=self.step_retry_max_seconds)


class DealSyncInput(BaseModel):
    """The input of one ``deal_sync`` orchestration (its instance id is the transaction id)."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    deal_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    generation: int = Field(default=1, ge=1)
    trigger: str = "manual"
    policy: SagaPolicy = Field(default_factory=SagaPolicy)
    # The previous generation's orchestration stopped: an invoice it made may still stand, to be reused.
    after_stranded: bool = False
