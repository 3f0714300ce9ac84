"""Every retry policy of the sync, in one place: the saga's (from settings), and the orchestrators' own calls'.

The saga's policy is read from settings by starters and carried in the orchestration input: orchestrators
must not read settings themselves, because a setting changed while an instance is in flight would make its
replays take different decisions. The input freezes the policy for the instance. Its defaults are the
settings' own (``shared.config.Settings``), so that they are written once.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.config import Settings
from shared.saga.policy import RetryPolicy
from shared.sync.batching import Gather


def _setting(name: str) -> Any:
    """The default of setting ``name``: a policy built without settings behaves as one built from defaults."""
    return Settings.model_fields[name].default


def _org_key(tenant_id: str) -> str:
    """The organisation's queue name: its tenant id as an entity key and instance id may carry it."""
    return re.sub(r"[^A-Za-z0-9_-]", "", tenant_id)[:64] or "org"


class SagaPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    step_max_attempts: int = Field(default=_setting("step_max_attempts"), ge=1)
    step_retry_first_seconds: float = Field(default=_setting("step_retry_first_seconds"), gt=0)
    step_retry_max_seconds: float = Field(default=_setting("step_retry_max_seconds"), gt=0)
    compensation_max_attempts: int = Field(default=_setting("compensation_max_attempts"), ge=1)
    deadline_minutes: int = Field(default=_setting("saga_deadline_minutes"), ge=1)
    # SEND_INVOICE_EMAIL: the saga's last step e-mails the invoice (frozen in the input like the rest).
    send_invoice_email: bool = _setting("send_invoice_email")
    # BATCHED_STEPS. Unlike the rest, not the setting's default: an input recorded before the field existed
    # must replay the per-deal calls it made. Starters always write it (from_settings).
    batched_steps: bool = False
    batch_wait_seconds: float = Field(default=_setting("batch_wait_seconds"), ge=1)
    batch_org: str = Field(default="org", pattern=r"^[A-Za-z0-9_-]{1,64}$")  # whose queue: the Xero organisation
    batch_gather_seconds: float = Field(default=_setting("batch_gather_seconds"), ge=0)
    batch_gather_max_seconds: float = Field(default=_setting("batch_gather_max_seconds"), ge=0)
    # A deal with nothing queued goes alone at once (a webhook's lone deal). Deals that come in a group (a
    # scheduled batch's wave, a delivery naming several won deals) have it off: the group's first deal queues
    # for the group's batch instead, and their items let a batch gather (shared/sync/batch_queue.py).
    batch_solo: bool = True

    @classmethod
    def from_settings(cls, s: Settings) -> SagaPolicy:
        return cls(step_max_attempts=s.step_max_attempts, step_retry_first_seconds=s.step_retry_first_seconds,
                   step_retry_max_seconds=s.step_retry_max_seconds,
                   compensation_max_attempts=s.compensation_max_attempts, deadline_minutes=s.saga_deadline_minutes,
                   send_invoice_email=s.send_invoice_email, batched_steps=s.batched_steps,
                   batch_wait_seconds=s.batch_wait_seconds, batch_org=_org_key(s.xero_tenant_id),
                   batch_gather_seconds=s.batch_gather_seconds, batch_gather_max_seconds=s.batch_gather_max_seconds)

    def gather(self) -> Gather:
        return Gather(solo=self.batch_solo, seconds=self.batch_gather_seconds,
                      max_seconds=self.batch_gather_max_seconds)

    def step_retry(self) -> RetryPolicy:
        """A saga step's forward attempts (the deal saga's steps, a life event's read and apply)."""
        return RetryPolicy(max_attempts=self.step_max_attempts, first_interval=self.step_retry_first_seconds,
                           max_interval=self.step_retry_max_seconds)

    def compensation_retry(self) -> RetryPolicy:
        """An undo's attempts: more of them, since a rollback left half-way needs a person."""
        return RetryPolicy(max_attempts=self.compensation_max_attempts, first_interval=self.step_retry_first_seconds,
                           max_interval=self.step_retry_max_seconds)


# --- the orchestrators' own calls (not settings: they are the app's, not an operator's, to tune) ---
# A 429 counts as an attempt here (``pace=False``): these calls end, and the next schedule or event tries again.

# The batch's CRM search and mapping check: the cursor does not move on a failure, so nothing is lost.
SEARCH_RETRY = RetryPolicy(max_attempts=6, first_interval=2, max_interval=120, pace=False)
# The ledger is a projection of the entity: a storage outage must not fail the saga, and the next status
# change rewrites the row.
LEDGER_RETRY = RetryPolicy(max_attempts=5, first_interval=5, max_interval=60, pace=False)
# The webhook was answered 200 already, so HubSpot will not deliver these events again: keep trying for
# about 45 minutes (2 s doubling to 5 min between attempts: the task hub unreachable, the host restarting).
START_RETRY = RetryPolicy(max_attempts=16, first_interval=2, max_interval=300, pace=False)
# An invoice paid, voided or deleted in accounting, written back to its deal (a one-step saga: paced 429s).
MARK_PAID_RETRY = RetryPolicy(max_attempts=8, first_interval=5, max_interval=600)
# A deal that met a run still finishing (it read the deal before this event) is tried again until that
# run has ended: at most about its deadline, after which it has ended or waits for a person.
WAIT_FIRST_SECONDS, WAIT_MAX_SECONDS = 2.0, 60.0


def wait_policy(deadline_minutes: int) -> RetryPolicy:
    """Checks every 2 s doubling to a minute, for the running transaction's deadline plus a margin."""
    attempts = 8 + (deadline_minutes * 60 + 600) // int(WAIT_MAX_SECONDS)
    return RetryPolicy(max_attempts=attempts, first_interval=WAIT_FIRST_SECONDS, max_interval=WAIT_MAX_SECONDS)


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
