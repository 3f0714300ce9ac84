"""Transaction identity: derived from the deal, so that every duplicate start becomes one run."""

from __future__ import annotations

import re

_DEAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def transaction_id(deal_id: str, generation: int = 1) -> str:
    """``deal-<id>`` for the first sync of a deal; ``deal-<id>-g<n>`` when a person syncs it again
    after a compensated attempt. It is the orchestration instance id: the host refuses to start an
    id that is running, so webhooks, the schedule and people starting the same deal meet in one run."""
    if not _DEAL_ID.match(deal_id):
        raise ValueError(f"deal id {deal_id!r} is not a CRM record id")
    if generation < 1:
        raise ValueError("generation starts at 1")
    return f"deal-{deal_id}" if generation == 1 else f"deal-{deal_id}-g{generation}"


def idempotency_key(tx_id: str, step: str, round_: int) -> str:
    """The key for one external create: stable across activity re-runs, new for a person's retry."""
    return f"{tx_id}:{step}:r{round_}"
