"""The documented exception tree every connector and activity speaks.

    SyncError                      base: anything the sync itself reports
    ├── TransientError             worth retrying later (429, 5xx, timeouts, dropped connections);
    │                              ``retry_after`` is the server's hint in seconds, if it gave one
    ├── PermanentError             retrying the same request cannot help (auth failure, 404, bad config)
    └── BusinessRejection          the other system refused the data itself (validation error,
                                   PAID invoice cannot be voided): a person must fix the data

Every error carries the ``service`` that raised it (``hubspot``, ``xero``, ...), a stable ``code``
and the API's own message, because the people reading the status page need the vendor's words,
not ours. Secrets never go into these messages.
"""

from __future__ import annotations

from typing import Any


class SyncError(Exception):
    """Base class of every error the sync reports."""

    kind: str = "error"

    def __init__(
        self,
        message: str,
        *,
        service: str = "sync",
        code: str = "error",
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.code = code
        self.status = status
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for ledgers, entities and API responses."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "service": self.service,
            "code": self.code,
            "message": self.message,
        }
        if self.status is not None:
            out["status"] = self.status
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:
        return f"{self.service}: {self.message}"


class TransientError(SyncError):
    """A failure that may go away by itself: retry, honouring ``retry_after`` when given."""

    kind = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out


class PermanentError(SyncError):
    """A failure that retrying the same request cannot fix."""

    kind = "permanent"


class BusinessRejection(SyncError):
    """The other system refused the data (validation, a state rule): a person must act."""

    kind = "rejected"
