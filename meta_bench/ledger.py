"""The run ledger of a meta-benchmark run: one row per builder × seed × repeat, in SQLite.

A unit goes ``pending`` -> ``building`` -> ``scoring`` -> ``done`` (or ``not_applicable``,
or ``failed`` when the machinery broke, not the builder). A state is written only after
the files it stands for are on disk (build.json, score.json, written atomically), so a
crashed run resumes where it stopped: ``building`` and ``scoring`` units are repeated from
that stage, ``done`` ones never; ``failed`` ones only with ``retry_failed``.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import LedgerError
from meta_bench.records import UnitRecord, UnitStatus

LEDGER_FILE = "ledger.sqlite"
LEDGER_KIND = "kettle-meta-bench"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    builder TEXT NOT NULL, seed_id TEXT NOT NULL, repeat INTEGER NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT, finished_at TEXT, detail TEXT,
    PRIMARY KEY (builder, seed_id, repeat)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunLedger:
    """Thread-safe access to one meta-benchmark run's ledger."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / LEDGER_FILE
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'kind'").fetchone()
        except sqlite3.DatabaseError as error:
            raise LedgerError(f"{self.path}: not a usable ledger ({error})") from error
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('kind', ?)", (LEDGER_KIND,))
        elif row[0] != LEDGER_KIND:
            raise LedgerError(f"{self.path} belongs to a {row[0]!r} run, not a meta-benchmark")

    def add(self, builder: str, seed_id: str, repeat: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO units (builder, seed_id, repeat, status) "
                "VALUES (?, ?, ?, 'pending')",
                (builder, seed_id, repeat),
            )

    def unit(self, builder: str, seed_id: str, repeat: int) -> UnitRecord:
        with self._lock:
            cursor = self._db.execute(
                "SELECT * FROM units WHERE builder = ? AND seed_id = ? AND repeat = ?",
                (builder, seed_id, repeat),
            )
            row = cursor.fetchone()
            names = [column[0] for column in cursor.description]
        if row is None:
            return UnitRecord(builder=builder, seed_id=seed_id, repeat=repeat, status="pending")
        return UnitRecord(**dict(zip(names, row, strict=True)))

    def units(self) -> list[UnitRecord]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM units ORDER BY rowid")
            rows = cursor.fetchall()
            names = [column[0] for column in cursor.description]
        return [UnitRecord(**dict(zip(names, row, strict=True))) for row in rows]

    def mark(
        self, builder: str, seed_id: str, repeat: int, status: UnitStatus, detail: str | None = None
    ) -> None:
        started = status == "building"
        finished = status in ("done", "not_applicable", "failed")
        with self._lock:
            self._db.execute(
                "UPDATE units SET status = ?, detail = ?, "
                "attempts = attempts + ?, "
                "started_at = CASE WHEN ? THEN ? ELSE started_at END, "
                "finished_at = CASE WHEN ? THEN ? ELSE NULL END "
                "WHERE builder = ? AND seed_id = ? AND repeat = ?",
                (
                    status,
                    detail,
                    int(started),
                    started,
                    _now(),
                    finished,
                    _now(),
                    builder,
                    seed_id,
                    repeat,
                ),
            )

    def reopen_failed(self) -> int:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE units SET status = 'pending', detail = 'retried' WHERE status = 'failed'"
            )
        return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()
