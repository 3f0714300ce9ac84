"""Persistence of instances and entities: in memory (no-op) or SQLite (stdlib sqlite3, WAL)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from devhost.model import EntityRecord, Instance


class MemoryStore:
    """The engine keeps every record in memory anyway; this store simply persists nothing."""

    durable = False

    def load(self) -> tuple[list[Instance], list[EntityRecord], dict[str, str]]:
        return [], [], {}

    def commit(
        self,
        instances: Iterable[Instance] = (),
        entities: Iterable[EntityRecord] = (),
        deleted_instances: Iterable[str] = (),
        meta: dict[str, str] | None = None,
    ) -> None:
        return None

    def close(self) -> None:
        return None


class SqliteStore:
    """Whole-record snapshots, written in one transaction per engine step, so a SIGKILL at any point leaves
    a consistent state: either before the step (work gets re-run: at-least-once) or after it."""

    durable = True

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against process crashes (SIGKILL) in WAL mode; only power loss could lose a commit.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS instances (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, data TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def load(self) -> tuple[list[Instance], list[EntityRecord], dict[str, str]]:
        instances = [Instance.from_json(json.loads(row[0])) for row in self._db.execute("SELECT data FROM instances")]
        entities = [EntityRecord.from_json(json.loads(row[0])) for row in self._db.execute("SELECT data FROM entities")]
        meta = {str(k): str(v) for k, v in self._db.execute("SELECT key, value FROM meta")}
        return instances, entities, meta

    def commit(
        self,
        instances: Iterable[Instance] = (),
        entities: Iterable[EntityRecord] = (),
        deleted_instances: Iterable[str] = (),
        meta: dict[str, str] | None = None,
    ) -> None:
        cur = self._db.cursor()
        cur.execute("BEGIN")
        try:
            cur.executemany(
                "INSERT OR REPLACE INTO instances (id, data) VALUES (?, ?)",
                [(i.instance_id, json.dumps(i.to_json())) for i in instances],
            )
            cur.executemany(
                "INSERT OR REPLACE INTO entities (id, data) VALUES (?, ?)",
                [(e.entity_id, json.dumps(e.to_json())) for e in entities],
            )
            cur.executemany("DELETE FROM instances WHERE id = ?", [(i,) for i in deleted_instances])
            if meta:
                cur.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


Store = MemoryStore | SqliteStore


def open_store(path: str | None) -> Store:
    return SqliteStore(path) if path else MemoryStore()
