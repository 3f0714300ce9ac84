"""Retry policy of a durable call: how many attempts, how long to wait between them, whether 429s are paced."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff that defers to the server's ``Retry-After`` when it gave one.

    The SDK's own ``RetryOptions`` has a constant interval and cannot read ``Retry-After``
    (the failure reaches the orchestrator only as text), so ``shared.saga.retry`` waits with its
    own durable timers using this policy. The numbers have no defaults here: the saga's come from
    settings (``shared.sync.policy.SagaPolicy``), the orchestrators' own calls' are named there too.

    ``pace``: a 429 or a vendor's outage (``PACED_CODES``) uses no attempts, only the deadline (or a
    count) ends the waits; without it they count as attempts like any failure (a batch's own calls,
    which must end rather than wait for hours).
    """

    max_attempts: int
    first_interval: float
    max_interval: float
    backoff: float = 2.0
    pace: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.first_interval <= 0 or self.max_interval <= 0 or self.backoff < 1:
            raise ValueError("intervals must be positive and backoff at least 1")

    def delay(self, failed_attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after attempt number ``failed_attempt`` (1-based) failed."""
        if retry_after is not None and retry_after >= 0:
            # The server knows when its window reopens; waiting exactly that long keeps the call
            # budget fully used. It may exceed max_interval: the saga deadline bounds the total.
            return float(retry_after)
        computed = self.first_interval * self.backoff ** (failed_attempt - 1)
        return float(min(computed, self.max_interval))

    def gives_up_after(self, attempt: int) -> bool:
        return attempt >= self.max_attempts
