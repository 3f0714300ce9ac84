"""An Azure table opened (and created if missing) on first use, once per process, safe to share between threads.

Nothing is created when the app's clients are built: storage may be away then, and only a call that needs the
table should fail for it.
"""

from __future__ import annotations

import contextlib
import threading

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient


class LazyTable:
    """The base of the app's table adapters (the ledger, the customer map)."""

    def __init__(self, service: TableServiceClient, table_name: str) -> None:
        self._service = service
        self._table_name = table_name
        self._table: TableClient | None = None
        self._lock = threading.Lock()

    @property
    def table(self) -> TableClient:
        with self._lock:
            if self._table is None:
                with contextlib.suppress(ResourceExistsError):
                    self._service.create_table(self._table_name)
                self._table = self._service.get_table_client(self._table_name)
            return self._table


__all__ = ["LazyTable"]
