"""The run journal: a small SQLite database that makes runs resumable and re-runs idempotent.

Written before and after every write to Alma, so that after a crash, ``kill -9`` or a power
cut the next start knows, for each row, which writes were sent, which were confirmed, and
which rows already have their final result. Nothing in here is needed to read the results
workbook; it is the processor's memory, kept in ``STATE_DIR``.

Tables:
  runs     one row per processing of a file (keyed by the file's SHA-256 and mode)
  steps    each write: 'started' before it is sent, 'done' once Alma answered
  results  each row's final result, so a resumed run does not redo finished rows; the results
           workbook is written from here (:class:`RunResults`), not from a list held in memory
  attempts each time a run was started or resumed: its Alma calls and time (for the Summary)
  deleted  every portfolio this installation has deleted (evidence for "Already done")
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .model import AlmaErrorInfo, Grouped, Outcome, Row, RowResult

if TYPE_CHECKING:
    from .config import Settings

FILE_NAME = "journal.sqlite3"  # in STATE_DIR

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, file_name TEXT, file_sha256 TEXT, mode TEXT,
    status TEXT, started TEXT, updated TEXT, resume_after TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT, row_number INTEGER, step TEXT, state TEXT, detail TEXT, time TEXT,
    PRIMARY KEY (run_id, row_number, step)
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT, row_number INTEGER, outcome TEXT, details TEXT, mms_id TEXT, portfolio_id TEXT,
    alma_error TEXT, backup TEXT, step TEXT, bib TEXT, time TEXT, grouped TEXT,
    PRIMARY KEY (run_id, row_number)
);
CREATE TABLE IF NOT EXISTS attempts (
    run_id TEXT, attempt INTEGER, started TEXT, updated TEXT, calls INTEGER, seconds REAL,
    PRIMARY KEY (run_id, attempt)
);
CREATE TABLE IF NOT EXISTS deleted (
    portfolio_id TEXT PRIMARY KEY, mms_id TEXT, run_id TEXT, time TEXT, other_system_id TEXT
);
"""

# Run states
RUNNING = "running"          # being processed, or interrupted while being processed
PAUSED = "paused"            # stopped on Alma's daily allowance; resumes after midnight UTC
FINISHED = "finished"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Run:
    run_id: str
    file_name: str
    file_sha256: str
    mode: str
    status: str
    resumed: bool = False
    resume_after: str | None = None


class Journal:
    """Thread-safe access to the journal database. One per process is enough."""

    @classmethod
    def in_state_dir(cls, settings: "Settings") -> "Journal":
        """The installation's journal: ``STATE_DIR/journal.sqlite3`` (created on first use)."""
        return cls(Path(settings.state_dir) / FILE_NAME)

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL survives a crash or kill -9. A write's 'started' record must also survive a power
        # cut before the write is sent, so step_started commits with FULL (an fsync); that fsync
        # also makes every earlier NORMAL commit durable.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._upgrade()
        self._attempt: tuple[str, int, float] | None = None  # (run_id, attempt, monotonic start) of this process
        self._attempt_noted = 0.0

    def _upgrade(self) -> None:
        """Add what later versions keep to a journal written by an earlier one."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(deleted)")}
        if "other_system_id" not in columns:
            self._db.execute("ALTER TABLE deleted ADD COLUMN other_system_id TEXT")
        if "grouped" not in {row[1] for row in self._db.execute("PRAGMA table_info(results)")}:
            self._db.execute("ALTER TABLE results ADD COLUMN grouped TEXT")  # group rows' collection (issue 14)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- runs -----------------------------------------------------------------------------
    def start_run(self, file_name: str, file_sha256: str, mode: str) -> Run:
        """Resume the unfinished run of this very file (same content, same mode), or begin one."""
        found = self._exec(
            "SELECT run_id, status, resume_after FROM runs WHERE file_sha256=? AND mode=? AND status!=? "
            "ORDER BY started DESC LIMIT 1", (file_sha256, mode, FINISHED))
        if found:
            run_id, status, resume_after = found[0]
            self._exec("UPDATE runs SET status=?, updated=? WHERE run_id=?", (RUNNING, _now(), run_id))
            return Run(run_id, file_name, file_sha256, mode, RUNNING, resumed=True, resume_after=resume_after)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{file_sha256[:8]}-{uuid.uuid4().hex[:4]}"
        self._exec("INSERT INTO runs VALUES (?,?,?,?,?,?,?,NULL)",
                   (run_id, file_name, file_sha256, mode, RUNNING, _now(), _now()))
        return Run(run_id, file_name, file_sha256, mode, RUNNING)

    def set_status(self, run_id: str, status: str, resume_after: str | None = None) -> None:
        self._exec("UPDATE runs SET status=?, updated=?, resume_after=? WHERE run_id=?",
                   (status, _now(), resume_after, run_id))

    def unfinished_runs(self) -> list[Run]:
        rows = self._exec("SELECT run_id, file_name, file_sha256, mode, status, resume_after FROM runs WHERE status!=?",
                          (FINISHED,))
        return [Run(r[0], r[1], r[2], r[3], r[4], resume_after=r[5]) for r in rows]

    # -- attempts -------------------------------------------------------------------------
    def begin_attempt(self, run_id: str) -> int:
        """Count one more attempt at this run (1 for a new run); its calls and time follow via note_attempt."""
        with self._lock:
            found = self._db.execute("SELECT COALESCE(MAX(attempt), 0) FROM attempts WHERE run_id=?", (run_id,)).fetchone()
            attempt = int(found[0]) + 1
            self._db.execute("INSERT INTO attempts VALUES (?,?,?,?,0,0)", (run_id, attempt, _now(), _now()))
            self._attempt = (run_id, attempt, time.monotonic())
            self._attempt_noted = 0.0
        return attempt

    def note_attempt(self, run_id: str, calls: int, force: bool = False) -> None:
        """This attempt's Alma calls and time so far (at most every 50 ms unless ``force``), so that an
        attempt cut short by a crash still counts in the totals."""
        current = self._attempt
        if current is None or current[0] != run_id:
            return
        now = time.monotonic()
        if not force and now - self._attempt_noted < 0.05:
            return
        self._attempt_noted = now
        self._exec("UPDATE attempts SET updated=?, calls=?, seconds=? WHERE run_id=? AND attempt=?",
                   (_now(), int(calls), round(now - current[2], 3), run_id, current[1]))

    def attempts(self, run_id: str) -> tuple[int, int, float]:
        """(attempts, Alma calls, seconds) over every attempt at this run."""
        found = self._exec("SELECT COUNT(*), COALESCE(SUM(calls), 0), COALESCE(SUM(seconds), 0) FROM attempts "
                           "WHERE run_id=?", (run_id,))
        count, calls, seconds = found[0]
        return int(count), int(calls), float(seconds)

    # -- steps ----------------------------------------------------------------------------
    def step_started(self, run_id: str, row: int, step: str, detail: dict | None = None) -> None:
        """Record, durably (fsync), that a write is about to be sent."""
        with self._lock:
            self._db.execute("PRAGMA synchronous=FULL")
            try:
                self._db.execute("INSERT OR REPLACE INTO steps VALUES (?,?,?,?,?,?)",
                                 (run_id, row, step, "started", json.dumps(detail or {}), _now()))
            finally:
                self._db.execute("PRAGMA synchronous=NORMAL")

    def step_done(self, run_id: str, row: int, step: str) -> None:
        self._exec("UPDATE steps SET state='done', time=? WHERE run_id=? AND row_number=? AND step=?",
                   (_now(), run_id, row, step))

    def step_refused(self, run_id: str, row: int, step: str) -> None:
        """Alma answered the write with a refusal: it did not happen."""
        self._exec("UPDATE steps SET state='refused', time=? WHERE run_id=? AND row_number=? AND step=?",
                   (_now(), run_id, row, step))

    def step(self, run_id: str, row: int, step: str) -> tuple[str, dict] | None:
        """(state, detail) of a step of this run, or None if it was never started."""
        found = self._exec("SELECT state, detail FROM steps WHERE run_id=? AND row_number=? AND step=?",
                           (run_id, row, step))
        return (found[0][0], json.loads(found[0][1] or "{}")) if found else None

    # -- results --------------------------------------------------------------------------
    def record_result(self, run_id: str, result: RowResult) -> None:
        error = json.dumps(dataclasses.asdict(result.alma_error)) if result.alma_error else None
        grouped = json.dumps(dataclasses.asdict(result.grouped)) if result.grouped else None
        self._exec("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                   (run_id, result.row.number, result.outcome.value, result.details, result.mms_id,
                    result.portfolio_id, error, result.backup, result.step, result.bib, _now(), grouped))

    def forget_result(self, run_id: str, row: int) -> None:
        self._exec("DELETE FROM results WHERE run_id=? AND row_number=?", (run_id, row))

    def finished_rows(self, run_id: str) -> set[int]:
        """The row numbers that already have their final result in this run (a resumed run skips them)."""
        return {number for (number,) in self._exec("SELECT row_number FROM results WHERE run_id=?", (run_id,))}

    # -- evidence across runs -------------------------------------------------------------
    def mark_deleted(self, portfolio_id: str, mms_id: str, run_id: str, other_system_id: str | None = None) -> None:
        """Remember a delete this installation made, with the bib's MMS ID and the old catalogue key
        (``other_system_id``) the row was looked up by, so a re-run of a row that gives only one of them
        still finds it."""
        self._exec("INSERT OR REPLACE INTO deleted (portfolio_id, mms_id, run_id, time, other_system_id) "
                   "VALUES (?,?,?,?,?)", (portfolio_id, mms_id, run_id, _now(), other_system_id))

    def deleted_on_bib(self, mms_id: str) -> tuple[str, str, str] | None:
        """(portfolio_id, run_id, time) of the latest portfolio this installation deleted on that bib."""
        found = self._exec("SELECT portfolio_id, run_id, time FROM deleted WHERE mms_id=? ORDER BY time DESC LIMIT 1",
                           (mms_id,))
        return tuple(found[0]) if found else None

    def deleted_by_other_system_id(self, other_system_id: str) -> tuple[str, str, str, str] | None:
        """(portfolio_id, mms_id, run_id, time) of the latest delete of a row looked up by that old key."""
        found = self._exec("SELECT portfolio_id, mms_id, run_id, time FROM deleted WHERE other_system_id=? "
                           "ORDER BY time DESC LIMIT 1", (other_system_id,))
        return tuple(found[0]) if found else None

    def deleted_by(self, portfolio_id: str) -> tuple[str, str] | None:
        """(run_id, time) if this installation deleted the portfolio before."""
        found = self._exec("SELECT run_id, time FROM deleted WHERE portfolio_id=?", (portfolio_id,))
        return (found[0][0], found[0][1]) if found else None

    # -- what a run did, for restore ----------------------------------------------------
    def knows_run(self, run_id: str) -> bool:
        return bool(self._exec("SELECT 1 FROM runs WHERE run_id=?", (run_id,)))

    def written_rows(self, run_id: str) -> dict[int, list[str]]:
        """Rows of this run that sent a write to Alma (confirmed, or sent and never answered): row -> steps."""
        found: dict[int, list[str]] = {}
        for row, step in self._exec("SELECT row_number, step FROM steps WHERE run_id=? AND state!='refused' "
                                    "ORDER BY row_number, time", (run_id,)):
            found.setdefault(row, []).append(step)
        return found

    def recorded_results(self, run_id: str) -> dict[int, dict]:
        """Each row's final result as recorded: row -> {'outcome', 'mms_id', 'portfolio_id', 'bib'}."""
        return {row: {"outcome": outcome, "mms_id": mms, "portfolio_id": pid, "bib": bib}
                for row, outcome, mms, pid, bib in self._exec(
                    "SELECT row_number, outcome, mms_id, portfolio_id, bib FROM results WHERE run_id=?", (run_id,))}


RESULT_FIELDS = "outcome, details, mms_id, portfolio_id, alma_error, backup, step, bib, grouped"


def result_of(row: Row, fields: list | tuple) -> RowResult:
    """A :class:`RowResult` from a ``results`` record's :data:`RESULT_FIELDS`."""
    outcome, details, mms, pid, error, backup, step, bib, grouped = fields
    info = AlmaErrorInfo(**json.loads(error)) if error else None
    place = Grouped(**json.loads(grouped)) if grouped else None
    return RowResult(row, Outcome(outcome), details, mms, pid, info, backup, step, bib, place)


class RunResults(Collection[RowResult]):
    """Every row's result of one run, in the sheet's row order, read from the journal each time it is iterated.

    The results workbook and the run's outcome read the rows' results through this, one at a time, rather
    than holding 100,000 of them: a row's final result is in the journal as soon as it is known. ``extra``
    holds the results the journal does not keep (rows "Not run"); for a row in both, ``extra`` wins. Each pass
    opens its own connection (and only reads), so this works after the run's :class:`Journal` is closed.
    """

    def __init__(self, path: Path, run_id: str, rows: list[Row], extra: dict[int, RowResult] | None = None):
        self.path, self.run_id, self.rows, self.extra = path, run_id, rows, extra or {}
        self._len: int | None = None

    def __iter__(self) -> Iterator[RowResult]:
        db = sqlite3.connect(str(self.path), timeout=30)  # reads only
        try:
            cursor = db.execute(f"SELECT row_number, {RESULT_FIELDS} FROM results WHERE run_id=? ORDER BY row_number",
                                (self.run_id,))
            recorded = next(cursor, None)
            last = None
            for row in self.rows:
                if last is not None and row.number <= last:  # out of order (a hand-made file): looked up alone
                    found = db.execute(f"SELECT row_number, {RESULT_FIELDS} FROM results WHERE run_id=? AND "
                                       "row_number=?", (self.run_id, row.number)).fetchone()
                else:
                    last = row.number
                    while recorded is not None and recorded[0] < row.number:
                        recorded = next(cursor, None)
                    found = recorded if recorded is not None and recorded[0] == row.number else None
                if row.number in self.extra:
                    yield self.extra[row.number]
                elif found is not None:
                    yield result_of(row, found[1:])
        finally:
            db.close()

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self)
        return self._len

    def __contains__(self, item: object) -> bool:
        return any(result == item for result in self)
