"""The run ledger: which stage of which candidate is done, in SQLite inside the run folder.

A stage is marked ``done`` only after its outputs are on disk (written atomically), so a
crash leaves at worst a stage marked ``running``, which the next run repeats. Nothing
marked ``done`` is ever repeated. Approval decisions live here too, with who decided and
when, so a queue can be reviewed later and the rerun picks the decisions up.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import KettleError, LedgerError, RunStorageError
from harness.text import strip_ansi
from tools.report.records import ApprovalRecord, StageRecord, StageStatus

LEDGER_FILE = "ledger.sqlite"
LEDGER_KIND = "kettle-build"
LEDGER_SCHEMA_VERSION = 1

_NEARLY_FULL_BYTES = 1024 * 1024


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    candidate_id TEXT PRIMARY KEY, source_path TEXT NOT NULL, added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
    candidate_id TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, started_at TEXT, finished_at TEXT,
    duration_sec REAL, cost_usd REAL, detail TEXT,
    PRIMARY KEY (candidate_id, stage)
);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT, candidate_id TEXT NOT NULL, gate TEXT NOT NULL,
    decision TEXT NOT NULL, decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, note TEXT
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Ledger:
    """Thread-safe access to one run's ledger."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LEDGER_FILE
        run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.OperationalError as error:
            raise self._write_error(error) from error
        except sqlite3.DatabaseError as error:
            raise LedgerError(f"{self.path}: not a usable ledger ({error})") from error
        self._claim_kind()

    def _claim_kind(self) -> None:
        kind = self.meta("kind")
        if kind is None:
            self.set_meta("kind", LEDGER_KIND)
            self.set_meta("schema_version", str(LEDGER_SCHEMA_VERSION))
            self.set_meta("created_at", _now())
        elif kind != LEDGER_KIND:
            raise LedgerError(f"{self.path} belongs to a {kind!r} run, not a kettle build")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as error:
                self._rollback()
                raise self._write_error(error) from error
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _write_error(self, error: sqlite3.OperationalError) -> KettleError:
        text = str(error)
        if any(sign in text for sign in ("disk is full", "disk I/O error", "readonly")):
            # SQLite reports a full disk as an I/O error on some filesystems: say what it is.
            stats = os.statvfs(self.path.parent)
            if stats.f_bavail * stats.f_frsize < _NEARLY_FULL_BYTES:
                text = f"No space left on device ({text})"
            return RunStorageError(f"cannot write {self.path}: {text}")
        return LedgerError(f"{self.path}: {text}")

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def add_candidate(self, candidate_id: str, source_path: str, stages: list[str]) -> None:
        """Register a candidate and its stages (pending); existing rows are left untouched."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO candidates VALUES (?, ?, ?)",
                (candidate_id, source_path, _now()),
            )
            db.executemany(
                "INSERT OR IGNORE INTO stages (candidate_id, stage, status) "
                "VALUES (?, ?, 'pending')",
                [(candidate_id, stage) for stage in stages],
            )

    def candidate_ids(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT candidate_id FROM candidates ORDER BY rowid").fetchall()
        return [row[0] for row in rows]

    def stage(self, candidate_id: str, stage: str) -> StageRecord:
        with self._lock:
            cursor = self._db.execute(
                "SELECT * FROM stages WHERE candidate_id = ? AND stage = ?", (candidate_id, stage)
            )
            row = cursor.fetchone()
            names = [column[0] for column in cursor.description]
        if row is None:
            return StageRecord(candidate_id=candidate_id, stage=stage, status="pending")
        return StageRecord(**dict(zip(names, row, strict=True)))

    def stages(self, candidate_id: str | None = None) -> list[StageRecord]:
        where = " WHERE candidate_id = ?" if candidate_id else ""
        parameters = (candidate_id,) if candidate_id else ()
        with self._lock:
            cursor = self._db.execute(f"SELECT * FROM stages{where} ORDER BY rowid", parameters)
            rows = cursor.fetchall()
            names = [column[0] for column in cursor.description]
        return [StageRecord(**dict(zip(names, row, strict=True))) for row in rows]

    def start(self, candidate_id: str, stage: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE stages SET status = 'running', attempts = attempts + 1, started_at = ?, "
                "finished_at = NULL, detail = NULL WHERE candidate_id = ? AND stage = ?",
                (_now(), candidate_id, stage),
            )

    def finish(
        self,
        candidate_id: str,
        stage: str,
        status: StageStatus,
        *,
        duration_sec: float | None = None,
        cost_usd: float | None = None,
        detail: str | None = None,
    ) -> None:
        # Details quote tool output; its colour codes never reach a report.
        detail = strip_ansi(detail) if detail is not None else None
        with self._transaction() as db:
            db.execute(
                "UPDATE stages SET status = ?, finished_at = ?, duration_sec = ?, cost_usd = ?, "
                "detail = ? WHERE candidate_id = ? AND stage = ?",
                (status, _now(), duration_sec, cost_usd, detail, candidate_id, stage),
            )

    def note_retry(self, candidate_id: str, stage: str, note: str) -> None:
        """A running stage lost its worker and starts again elsewhere: count the attempt."""
        with self._transaction() as db:
            db.execute(
                "UPDATE stages SET attempts = attempts + 1, detail = ? "
                "WHERE candidate_id = ? AND stage = ?",
                (f"retrying: {note}", candidate_id, stage),
            )

    def recover_interrupted(self) -> list[StageRecord]:
        """Stages left ``running`` by a crash go back to ``pending``; returns them."""
        interrupted = [record for record in self.stages() if record.status == "running"]
        with self._transaction() as db:
            db.execute(
                "UPDATE stages SET status = 'pending', detail = 'interrupted; repeated' "
                "WHERE status = 'running'"
            )
        return interrupted

    def reopen(self, statuses: tuple[StageStatus, ...]) -> None:
        """Make stages in the given statuses pending again (e.g. parked ones after a review)."""
        marks = ",".join("?" for _ in statuses)
        with self._transaction() as db:
            db.execute(f"UPDATE stages SET status = 'pending' WHERE status IN ({marks})", statuses)

    def record_approval(self, record: ApprovalRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO approvals (candidate_id, gate, decision, decided_by, decided_at, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.candidate_id,
                    record.gate,
                    record.decision,
                    record.decided_by,
                    record.decided_at,
                    record.note,
                ),
            )

    def approval(self, candidate_id: str, gate: str) -> ApprovalRecord | None:
        """The latest decision at a gate, if any."""
        found = self._approvals(
            "WHERE candidate_id = ? AND gate = ? ORDER BY id DESC LIMIT 1", (candidate_id, gate)
        )
        return found[0] if found else None

    def approvals(self) -> list[ApprovalRecord]:
        return self._approvals("ORDER BY id", ())

    def _approvals(self, where: str, parameters: tuple[str, ...]) -> list[ApprovalRecord]:
        columns = list(ApprovalRecord.model_fields)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(columns)} FROM approvals {where}", parameters
            ).fetchall()
        return [ApprovalRecord(**dict(zip(columns, row, strict=True))) for row in rows]

    def config(self) -> dict[str, object]:
        raw = self.meta("config")
        return json.loads(raw) if raw else {}

    def close(self) -> None:
        with self._lock:
            self._db.close()
