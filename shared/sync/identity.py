"""Transaction identity: derived from the deal, so that every duplicate start becomes one run."""

from __future__ import annotations

import re

_DEAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def transaction_id(deal_id: str, generation: int = 1) -> str:
    """``deal-<id>`` for the first sync of a deal; ``deal-<id>-g<n>`` when it is synced again: by a person
    after a compensated attempt, or by a trigger after a skipped one (the deal was not won yet). It is
    the orchestration instance id: the host refuses to start an id that is running, so webhooks, the
    schedule and people starting the same deal meet in one run."""
    if not _DEAL_ID.match(deal_id):
        raise ValueError(f"deal id {deal_id!r} is not a CRM record id")
    if generation < 1:
        raise ValueError("generation starts at 1")
    return f"deal-{deal_id}" if generation == 1 else f"deal-{deal_id}-g{generation}"


def generation_of(deal_id: str, tx_id: str) -> int | None:
    """The generation of ``tx_id`` if it is a transaction of ``deal_id``, else None."""
    base = f"deal-{deal_id}"
    if tx_id == base:
        return 1
    suffix = tx_id.removeprefix(base + "-g")
    if suffix != tx_id and suffix.isascii() and suffix.isdigit() and int(suffix) >= 2 and suffix[0] != "0":
        return int(suffix)
    return None


def idempotency_key(tx_id: str, step: str, round_: int) -> str:
    """The key for one external create: stable across activity re-runs, new for a person's retry."""
    return f"{tx_id}:{step}:r{round_}"
