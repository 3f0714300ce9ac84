"""Where a Xero Web app's connection lives: one Azure Table row, changed only with its ETag (optimistic concurrency).

Why a table row, and not Key Vault or a blob lease: the refresh token is replaced on every refresh
and the newest one must be written *before* it is used, by whichever instance refreshed, while every
other instance waits. A table row gives both at once: a conditional write (``If-Match`` the ETag)
is the lock that serializes refreshes across processes *and* the durable write of the new token, in
one round trip each, in the storage account the app already has (identity-only access, the
``Storage Table Data Contributor`` role it already holds for the ledger). Key Vault has no
conditional write (two instances could each store a token, one of them dead) and would need the
app to hold write rights over every secret; a blob lease would still need a second write for the
token itself.

Row ``xero``/``connection`` holds the connection; rows ``state``/``<state>`` are pending connect
attempts (the OAuth ``state``, single use, ten minutes).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode
from pydantic import SecretStr

__all__ = ["BudgetRecorder", "Conflict", "DailyBudget", "StoredConnection", "TableTokenStore", "TokenStore"]

log = logging.getLogger(__name__)
PARTITION, ROW, BUDGET_ROW = "xero", "connection", "budget"
STATE_PARTITION = "state"


class Conflict(Exception):
    """The row changed since it was read (another instance wrote first): read again."""


@dataclass(frozen=True)
class StoredConnection:
    """The Web app's connection to one Xero organisation. Tokens are SecretStr: never printed."""

    status: str = "never"  # never | connected | disconnected
    tenant_id: str = ""
    tenant_name: str = ""
    refresh_token: SecretStr | None = None
    access_token: SecretStr | None = None
    access_expires_at: float = 0.0  # epoch seconds: shared by every instance
    lease_owner: str = ""  # the instance refreshing now, until lease_until
    lease_until: float = 0.0
    reason: str = ""  # why it is disconnected, for people
    refreshed_at: float = 0.0
    refreshes: int = 0
    etag: str = field(default="", compare=False)

    @property
    def connected(self) -> bool:
        return self.status == "connected" and self.refresh_token is not None

    def with_(self, **changes: Any) -> StoredConnection:
        return replace(self, **changes)


@dataclass(frozen=True)
class DailyBudget:
    """The latest ``X-DayLimit-Remaining`` an instance saw, and when (epoch seconds)."""

    remaining: int | None = None
    seen_at: float = 0.0


class TokenStore(Protocol):
    def read(self) -> StoredConnection: ...

    def write(self, conn: StoredConnection) -> StoredConnection:
        """Write if the row is unchanged since ``conn`` was read (``conn.etag``; "" = must not exist)."""
        ...

    def overwrite(self, conn: StoredConnection) -> StoredConnection:
        """Write whatever is there (a person connecting or disconnecting wins)."""
        ...

    def put_state(self, state: str, expires_at: float) -> None: ...

    def take_state(self, state: str, now: float) -> bool:
        """True once for a state put before and not expired; it is gone afterwards."""
        ...

    def put_budget(self, budget: DailyBudget) -> None: ...

    def read_budget(self) -> DailyBudget: ...


def _secret(value: Any) -> SecretStr | None:
    return SecretStr(str(value)) if value else None


class TableTokenStore:
    """``TokenStore`` on an Azure Table (Azurite locally); creates the table on first use."""

    def __init__(self, service: TableServiceClient, table_name: str) -> None:
        self._table = service.get_table_client(table_name)
        self._ready = False

    def __repr__(self) -> str:
        return f"TableTokenStore(table={self._table.table_name!r})"

    def _client(self) -> Any:
        if not self._ready:
            with contextlib.suppress(ResourceExistsError):
                self._table.create_table()
            self._ready = True
        return self._table

    def read(self) -> StoredConnection:
        try:
            entity = self._client().get_entity(PARTITION, ROW)
        except ResourceNotFoundError:
            return StoredConnection()
        return StoredConnection(
            status=str(entity.get("status", "never")),
            tenant_id=str(entity.get("tenant_id", "")),
            tenant_name=str(entity.get("tenant_name", "")),
            refresh_token=_secret(entity.get("refresh_token")),
            access_token=_secret(entity.get("access_token")),
            access_expires_at=float(entity.get("access_expires_at", 0.0)),
            lease_owner=str(entity.get("lease_owner", "")),
            lease_until=float(entity.get("lease_until", 0.0)),
            reason=str(entity.get("reason", "")),
            refreshed_at=float(entity.get("refreshed_at", 0.0)),
            refreshes=int(entity.get("refreshes", 0)),
            etag=str(entity.metadata["etag"]),
        )

    @staticmethod
    def _entity(conn: StoredConnection) -> dict[str, Any]:
        return {
            "PartitionKey": PARTITION, "RowKey": ROW, "status": conn.status, "tenant_id": conn.tenant_id,
            "tenant_name": conn.tenant_name,
            "refresh_token": conn.refresh_token.get_secret_value() if conn.refresh_token else "",
            "access_token": conn.access_token.get_secret_value() if conn.access_token else "",
            "access_expires_at": float(conn.access_expires_at), "lease_owner": conn.lease_owner,
            "lease_until": float(conn.lease_until), "reason": conn.reason[:1000],
            "refreshed_at": float(conn.refreshed_at), "refreshes": int(conn.refreshes),
        }

    def write(self, conn: StoredConnection) -> StoredConnection:
        client = self._client()
        try:
            if not conn.etag:
                meta = client.create_entity(self._entity(conn))
            else:
                meta = client.update_entity(self._entity(conn), mode=UpdateMode.REPLACE, etag=conn.etag,
                                            match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceExistsError, ResourceNotFoundError):
            raise Conflict("the Xero connection changed meanwhile") from None
        return conn.with_(etag=str(meta["etag"]))

    def overwrite(self, conn: StoredConnection) -> StoredConnection:
        meta = self._client().upsert_entity(self._entity(conn), mode=UpdateMode.REPLACE)
        return conn.with_(etag=str(meta["etag"]))

    def put_state(self, state: str, expires_at: float) -> None:
        self._client().upsert_entity({"PartitionKey": STATE_PARTITION, "RowKey": state, "expires_at": expires_at})

    def take_state(self, state: str, now: float | None = None) -> bool:
        if not state or len(state) > 200 or any(c in state for c in "/\\#?"):
            return False
        client = self._client()
        try:
            entity = client.get_entity(STATE_PARTITION, state)
            client.delete_entity(STATE_PARTITION, state, etag=entity.metadata["etag"],
                                 match_condition=MatchConditions.IfNotModified)
        except (ResourceNotFoundError, ResourceModifiedError):
            return False  # unknown, or taken by a parallel callback: single use
        return float(entity.get("expires_at", 0.0)) > (time.time() if now is None else now)

    def put_budget(self, budget: DailyBudget) -> None:
        self._client().upsert_entity({"PartitionKey": PARTITION, "RowKey": BUDGET_ROW,
                                      "remaining": -1 if budget.remaining is None else budget.remaining,
                                      "seen_at": budget.seen_at})

    def read_budget(self) -> DailyBudget:
        try:
            entity = self._client().get_entity(PARTITION, BUDGET_ROW)
        except ResourceNotFoundError:
            return DailyBudget()
        remaining = int(entity.get("remaining", -1))
        return DailyBudget(None if remaining < 0 else remaining, float(entity.get("seen_at", 0.0)))


class BudgetRecorder:
    """Keeps the store's daily budget row close to Xero's count without a write per call.

    Writes at most once every ``every`` seconds, and at once when the count runs low (so that the
    status page shows an empty budget when it is empty). Storage trouble never fails a Xero call.
    """

    def __init__(self, store: TokenStore, *, every: float = 15.0, low: int = 50,
                 clock: Any = time.time) -> None:
        self._store = store
        self._every = every
        self._low = low
        self._clock = clock
        self._lock = threading.Lock()
        self._written_at = 0.0
        self._written: int | None = None
        self._rising_since: float | None = None

    def __call__(self, remaining: int) -> None:
        now = self._clock()
        # Written under the lock: parallel calls must not land out of order (a 1 over the 0 that followed it).
        with self._lock:
            # Low counts are written at once, but only falling ones: parallel answers arrive out of order,
            # and one that Xero sent before the day ran out must not show calls left after the 0.
            falling = self._written is None or remaining < self._written
            if falling:
                self._rising_since = None
            elif self._written is not None and self._written <= self._low and remaining > self._written:
                # A rise from a low count is the rolling day giving calls back: shown once it has lasted
                # ``every`` seconds, counted from ``every`` seconds after the low count. Right after the day
                # runs out, the calls waiting for the reset hold the worker's threads and the status page
                # answers late: the 0 must still be there when it answers again.
                if now - self._written_at < self._every:
                    return  # an answer sent before the low count may still arrive: no rise trusted yet
                if self._rising_since is None:
                    self._rising_since = now
                if now - self._rising_since < self._every:
                    return
            due = now - self._written_at >= self._every or (remaining <= self._low and falling)
            if not due:
                return
            before = self._written_at, self._written
            self._written_at, self._written = now, remaining
            try:
                self._store.put_budget(DailyBudget(remaining, now))
                self._rising_since = None
            except Exception as exc:  # the budget is informative: never fail the call that saw it
                self._written_at, self._written = before  # not written: the next answer tries again
                log.warning("xero: could not record the daily budget: %s", type(exc).__name__)
