"""One file through the whole line: intake -> validate -> plan -> run -> report (-> notify).

``processor.py run FILE`` and the inbox watcher both call :func:`process_file`, so a file
dropped in the inbox is handled exactly as one run by hand.

>>> outcome = process_file(Path("inbox/p2e.xlsx"), load_settings("config.env"))   # doctest: +SKIP
>>> outcome.exit_code, outcome.results_path                                        # doctest: +SKIP
(0, PosixPath('outbox/p2e - results 2026-11-28 1412.xlsx'))
"""
from __future__ import annotations

import hashlib
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, TextIO

from .actions import RunContext
from .alma.client import AlmaClient
from .backup import BackupStore
from .config import Settings
from .engine import run_tasks
from .errors import LockLost
from .intake import FileRejected, read_workbook
from .journal import FINISHED, PAUSED, Journal
from .model import Mode, Outcome, Problem, RowResult
from .names import safe_file_name
from .plan import plan
from .progress import Progress
from .report import AuditLog, RunInfo, results_name, unique_path, write_rejection, write_results
from .validate import validate

EXIT_OK, EXIT_ROWS_NEED_ATTENTION, EXIT_REJECTED = 0, 1, 2


@dataclass
class FileOutcome:
    """What happened to one file, for the CLI, the watcher and the email."""

    source: Path
    status: str  # "processed", "rejected", "paused" (daily allowance), "stopped", "lock-lost" (see process_file)
    mode: Mode = Mode.APPLY
    results_path: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    email_to: list[str] = field(default_factory=list)
    audit_path: Path | None = None
    backups: Path | None = None
    run_id: str = ""
    resume_after: datetime | None = None

    @property
    def exit_code(self) -> int:
        if self.status == "rejected":
            return EXIT_REJECTED
        if self.counts.get(Outcome.FAILED) or self.counts.get(Outcome.NOT_RUN):
            return EXIT_ROWS_NEED_ATTENTION
        return EXIT_OK

    def summary(self) -> str:
        """A few plain-English lines: what happened and where the results are."""
        name = self.source.name
        if self.status == "rejected":
            lines = [f"{name} was not processed: {len(self.problems)} problem(s) to fix. Nothing was changed in Alma."]
            lines += [f"  - {p}" for p in self.problems[:10]]
            if len(self.problems) > 10:
                lines.append(f"  ... and {len(self.problems) - 10} more (all listed in the workbook).")
        else:
            what = "Preview of" if self.mode is Mode.PREVIEW else "Processed"
            parts = [f"{n} {o.value.lower()}" for o, n in sorted(self.counts.items(), key=lambda kv: list(Outcome).index(kv[0]))]
            lines = [f"{what} {name}: {len(self.results)} rows - " + ", ".join(parts) + "."]
            if self.mode is Mode.PREVIEW:
                lines.append("This was a preview: nothing was changed in Alma.")
            attention = [r for r in self.results if r.outcome.needs_attention]
            if attention:
                lines.append(f"{len(attention)} row(s) need attention, for example:")
                lines += [f"  - row {r.row.number}: {r.outcome.value}: {r.details}" for r in attention[:5]]
            if self.status == "paused" and self.resume_after:
                lines.append(f"Alma's daily API allowance ran out; the rest runs automatically after "
                             f"{self.resume_after:%Y-%m-%d %H:%M} UTC.")
        if self.results_path:
            lines.append(f"Results: {self.results_path}")
        return "\n".join(lines)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def choose_mode(path: Path, sheet_mode: Mode | None, preview: bool | None) -> Mode:
    """``--preview`` wins; then the workbook's Mode setting; then the word "preview" in the file name."""
    if preview is not None:
        return Mode.PREVIEW if preview else Mode.APPLY
    if sheet_mode is not None:
        return sheet_mode
    return Mode.PREVIEW if "preview" in path.name.lower() else Mode.APPLY


def reject(path: Path, settings: Settings, problems: list[Problem], email_to: list[str] | None = None) -> FileOutcome:
    when = datetime.now()
    target = unique_path(settings.outbox_dir, results_name(path.name, "REJECTED", when), ".xlsx")
    write_rejection(target, path.name, problems, when)
    return FileOutcome(path, "rejected", results_path=target, problems=problems,
                       email_to=list(dict.fromkeys((email_to or []) + settings.mail_to)))


def check_file(path: Path, settings: Settings):
    """Intake and validation only: (sheet, problems). No network."""
    try:
        sheet = read_workbook(path, max_file_mb=settings.max_file_mb)
    except FileRejected as exc:
        return None, list(exc.problems)
    return sheet, validate(sheet, settings)


def process_file(path: Path, settings: Settings, *, preview: bool | None = None, stop: threading.Event | None = None,
                 stream: TextIO | None = sys.stderr, client: AlmaClient | None = None,
                 fence: Callable[[], None] | None = None) -> FileOutcome:
    """Process one workbook now and leave its results (or its rejection) in the outbox.

    ``fence`` (the watcher's :meth:`~p2e.watch.WatcherLock.fence`) is called before every row and
    every write, and once more before the results are written; when it raises
    :class:`~p2e.errors.LockLost` the run stops and the outcome's status is "lock-lost": no results
    workbook, the journal's run status untouched - another watcher owns the file now.
    """
    path = Path(path)
    sheet, problems = check_file(path, settings)
    if sheet is None or problems:
        return reject(path, settings, problems, sheet.email_to if sheet else None)
    mode = choose_mode(path, sheet.mode, preview)
    settings.require_alma()
    started = datetime.now()
    journal = Journal(settings.state_dir / "journal.sqlite3")
    run = journal.start_run(path.name, file_sha256(path), mode.value)
    audit = AuditLog(settings.outbox_dir / "audit" / safe_file_name(path.stem, f" - {run.run_id}", ".jsonl"),
                     settings.secrets())
    own_client = client is None
    if client is None:
        client = AlmaClient(settings.base_url, settings.alma_api_key, rate_limit=settings.rate_limit,
                            timeout=settings.http_timeout, max_retries=settings.max_retries,
                            read_only=mode is Mode.PREVIEW, pool_size=settings.workers + 4)
    client.audit = audit
    if mode is Mode.PREVIEW:
        client.read_only = True
    backups = BackupStore(settings.state_dir / "backups", run.run_id)
    ctx = RunContext(client, settings, journal, backups, run.run_id, preview=mode is Mode.PREVIEW,
                     fence=fence or (lambda: None))
    status_file = settings.outbox_dir / safe_file_name(path.stem, " - IN PROGRESS", ".txt")
    try:
        tasks = plan(sheet, settings)
        rows = {row.number: row for row in sheet.rows}
        earlier = journal.results(run.run_id, rows) if run.resumed else {}
        todo = [t for t in tasks if t.row.number not in earlier]
        label = ("Previewing " if mode is Mode.PREVIEW else "Processing ") + path.name
        progress = Progress(len(tasks), label=label, calls=lambda: client.stats.calls, rate_limit=settings.rate_limit,
                            status_file=status_file, stream=stream, already_done=len(earlier))
        progress.report()
        try:
            engine = run_tasks(ctx, todo, workers=settings.workers, progress=progress, stop=stop)
            ctx.fence()  # the lock may have been lost while the last rows ran: then the results are not ours
        except LockLost:
            return FileOutcome(path, "lock-lost", mode=mode, run_id=run.run_id)
        progress.finish()
        by_row = {**earlier, **engine.results}
        results = [by_row[row.number] for row in sheet.rows if row.number in by_row]
        outcome = FileOutcome(path, "processed", mode=mode, results=results,
                              counts=Counter(r.outcome for r in results),
                              email_to=list(dict.fromkeys(sheet.email_to + settings.mail_to)),
                              audit_path=audit.path, backups=None if ctx.preview else backups.folder, run_id=run.run_id)
        note = ""
        if engine.daily_limit_reached:
            outcome.status = "paused"
            outcome.resume_after = _next_midnight_utc()
            journal.set_status(run.run_id, PAUSED, outcome.resume_after.isoformat())
            note = "Alma's daily API allowance ran out; the rows marked Not run continue after midnight UTC."
        elif engine.stopped:
            outcome.status = "stopped"
            note = "The processor was stopped; the rows marked Not run continue when it starts again."
        else:
            journal.set_status(run.run_id, FINISHED)
        finished = datetime.now()
        kind = "PREVIEW" if mode is Mode.PREVIEW else "results"
        if outcome.status in ("paused", "stopped"):
            kind = f"PARTIAL {kind}"  # not final: the rows marked Not run continue later
        target = unique_path(settings.outbox_dir, results_name(path.name, kind, finished), ".xlsx")
        info = RunInfo(path.name, "Preview" if mode is Mode.PREVIEW else "Apply", settings.alma_description(),
                       started, finished, run.run_id, client.stats.calls, note)
        outcome.results_path = write_results(target, sheet, results, info)
        return outcome
    finally:
        progress_file_cleanup(status_file)
        audit.close()
        journal.close()
        if own_client:
            client.close()


def progress_file_cleanup(status_file: Path) -> None:
    try:
        status_file.unlink()
    except OSError:
        pass


def _next_midnight_utc() -> datetime:
    now = datetime.now(timezone.utc)
    return (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
