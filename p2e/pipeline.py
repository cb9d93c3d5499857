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
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Callable, TextIO

from .alma.audit import AuditLog
from .alma.client import AlmaClient
from .alma.errors import AlmaAuthError, AlmaError
from .backup import BackupStore
from .config import Settings
from .errors import LockLost
from .files import write_atomic
from .intake import FileRejected, read_workbook
from .journal import FINISHED, PAUSED, Journal, RunResults
from .model import FileStatus, Mode, Outcome, Problem, RowResult, Sheet
from .names import results_name, safe_file_name, unique_path
from .notify.waiting import forget_told
from .plan import plan
from .progress import Progress
from .report import RunInfo, write_rejection, write_results
from .run import DAILY, KEY, OUTAGE, RunContext, run_tasks
from .suggest.file import suggest_workbook, wants_suggestions
from .validate import validate

# After an outage or a refused API key, the file is tried again this long after (by the watcher).
WAIT_RETRY = timedelta(minutes=5)

EXIT_OK, EXIT_ROWS_NEED_ATTENTION, EXIT_REJECTED = 0, 1, 2


@dataclass
class FileOutcome:
    """What happened to one file, for the CLI, the watcher and the email."""

    source: Path
    # PROCESSED, REJECTED, PAUSED (daily allowance), STOPPED, LOCK_LOST (another watcher took the
    # inbox over: nothing is written), or WAITING: Alma could not be reached or refused the API key; the
    # file waits (not rejected, not done) and ``reason`` says why
    status: FileStatus
    mode: Mode = Mode.APPLY
    results_path: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    # every row's result in the sheet's order: a p2e.journal.RunResults, read from the journal on each pass
    results: Collection[RowResult] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    email_to: list[str] = field(default_factory=list)
    audit_path: Path | None = None
    backups: Path | None = None
    run_id: str = ""
    resume_after: datetime | None = None
    reason: str = ""  # "waiting": the plain message ("Alma refused the API key: ...")
    reason_kind: str = ""  # "waiting": "key" or "outage"
    by_hand: bool = False  # run from the command line (not by the watcher): say what to do next
    suggested: str = ""  # a suggestion run (mode SUGGEST): its summary (p2e/suggest)

    def __post_init__(self) -> None:
        self.status = FileStatus(self.status)  # the plain word ("processed") is accepted too

    @property
    def exit_code(self) -> int:
        if self.status is FileStatus.REJECTED:
            return EXIT_REJECTED
        if self.status is FileStatus.WAITING:
            return EXIT_ROWS_NEED_ATTENTION
        if self.counts.get(Outcome.FAILED) or self.counts.get(Outcome.NOT_RUN):
            return EXIT_ROWS_NEED_ATTENTION
        return EXIT_OK

    def summary(self) -> str:
        """A few plain-English lines: what happened and where the results are."""
        name = self.source.name
        if self.mode is Mode.SUGGEST and self.status is FileStatus.PROCESSED:
            lines = [self.suggested]
        elif self.status is FileStatus.WAITING and not self.results:
            lines = [f"{name} is waiting: {self.reason}", self._next_step()]
        elif self.status is FileStatus.REJECTED:
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
            attention = sum(n for o, n in self.counts.items() if o.needs_attention)
            if attention:
                examples = islice((r for r in self.results if r.outcome.needs_attention), 5)
                lines.append(f"{attention} row(s) need attention, for example:")
                lines += [f"  - row {r.row.number}: {r.outcome.value}: {r.details}" for r in examples]
            if self.status is FileStatus.PAUSED and self.resume_after:
                if self.by_hand:
                    lines.append(f"Alma's daily API allowance ran out. To finish the rest, run the same command "
                                 f"again after {self.resume_after:%Y-%m-%d %H:%M} UTC, or put the file in the inbox "
                                 "folder.")
                else:
                    lines.append(f"Alma's daily API allowance ran out; the rest runs automatically after "
                                 f"{self.resume_after:%Y-%m-%d %H:%M} UTC.")
            if self.status is FileStatus.WAITING:
                lines += [f"The rest is waiting: {self.reason}", self._next_step()]
        if self.results_path:
            lines.append(f"Results: {self.results_path}")
        return "\n".join(lines)

    def _next_step(self) -> str:
        """For a waiting file: what happens next, and what to do."""
        fix = ("Once the key in the settings (ALMA_API_KEY) is put right" if self.reason_kind == "key"
               else "Once Alma answers again")
        nothing = "Nothing else was changed in Alma" if self.results else "Nothing was changed in Alma"
        if self.by_hand:
            return (f"{nothing} and nothing is lost. {fix}, run the same command again "
                    "(rows already done are not repeated), or put the file in the inbox folder.")
        when = f" after {self.resume_after:%H:%M} UTC" if self.resume_after else ""
        return (f"{nothing} and nothing is lost: the file waits in the processing folder and "
                f"the watcher tries it again by itself{when}, and after that every few minutes. {fix}, it finishes "
                "by itself (rows already done are not repeated).")


def alma_trouble(exc: AlmaError | None, settings: Settings) -> str:
    """The plain message for a refused key or an unreachable Alma."""
    said = (exc.alma_message if exc else "") or "no details"
    if isinstance(exc, AlmaAuthError):
        code = f" ({exc.code})" if exc.code and exc.code not in said else ""
        return (f"Alma refused the API key: {said.rstrip('. ')}{code}. Check ALMA_API_KEY in the settings: it must be this "
                "institution's key, allowed to read and write Bibs and Acquisitions, in Alma's Developer Network.")
    return (f"Alma could not be reached at {settings.base_url}: {said} Check the network and ALMA_BASE_URL; "
            "Alma may also be down for maintenance.")


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
    return FileOutcome(path, FileStatus.REJECTED, results_path=target, problems=problems,
                       email_to=list(dict.fromkeys((email_to or []) + settings.mail_to)))


def check_file(path: Path, settings: Settings, preview: bool | None = None):
    """Intake and validation only: (sheet, problems). No network.

    A suggestion request (:func:`p2e.suggest.file.wants_suggestions`) is not validated: it writes nothing,
    and what staff fill in is validated when the file comes back to be previewed or applied."""
    try:
        sheet = read_workbook(path, max_file_mb=settings.max_file_mb, compact=True)  # cells kept compressed
    except FileRejected as exc:
        return None, list(exc.problems)
    if wants_suggestions(sheet, preview):  # a suggestion request (p2e/suggest): reads only
        return sheet, list(sheet.problems)
    return sheet, validate(sheet, settings)


def suggest_file(path: Path, settings: Settings, *, collections: list[str] | None = None,
                 client: AlmaClient | None = None) -> FileOutcome:
    """A suggestion request: the annotated workbook ``<file> - SUGGESTED <date>.xlsx`` in the outbox (reads only)."""
    path = Path(path)
    try:
        sheet = read_workbook(path, max_file_mb=settings.max_file_mb)
    except FileRejected as exc:
        return reject(path, settings, list(exc.problems))
    if sheet.problems:
        return reject(path, settings, list(sheet.problems), sheet.email_to)
    return _suggested(path, sheet, settings, collections, client)


def _suggested(path: Path, sheet: Sheet, settings: Settings, collections: list[str] | None,
               client: AlmaClient | None) -> FileOutcome:
    settings.require_alma()
    done = suggest_workbook(path, sheet, settings, collections=collections, client=client)
    return FileOutcome(path, FileStatus.PROCESSED, mode=Mode.SUGGEST, results_path=done.path, audit_path=done.audit_path,
                       email_to=list(dict.fromkeys(sheet.email_to + settings.mail_to)),
                       suggested=done.summary(path.name), by_hand=not _in_processing(path, settings))


def process_file(path: Path, settings: Settings, *, preview: bool | None = None, stop: threading.Event | None = None,
                 stream: TextIO | None = sys.stderr, client: AlmaClient | None = None,
                 fence: Callable[[], None] | None = None) -> FileOutcome:
    """Process one workbook now and leave its results (or its rejection) in the outbox.

    ``fence`` (the watcher's :meth:`~p2e.watch.WatcherLock.fence`) is called before every row and
    every write, and once more before the results are written; when it raises
    :class:`~p2e.errors.LockLost` the run stops and the outcome's status is LOCK_LOST: no results
    workbook, the journal's run status untouched - another watcher owns the file now.
    """
    path = Path(path)
    sheet, problems = check_file(path, settings, preview)
    if sheet is None or problems:
        return reject(path, settings, problems, sheet.email_to if sheet else None)
    if wants_suggestions(sheet, preview):
        return _suggested(path, sheet, settings, None, client)  # a suggestion request (p2e/suggest): reads only
    mode = choose_mode(path, sheet.mode, preview)
    settings.require_alma()
    started = datetime.now()
    journal = Journal.in_state_dir(settings)
    run = journal.start_run(path.name, file_sha256(path), mode.value)
    journal.begin_attempt(run.run_id)
    audit = AuditLog(settings.outbox_dir / "audit" / safe_file_name(path.stem, f" - {run.run_id}", ".jsonl"),
                     settings.secrets())
    own_client = client is None
    if client is None:
        client = AlmaClient.from_settings(settings, read_only=mode is Mode.PREVIEW, pool_size=settings.workers + 4)
    client.audit = audit
    if mode is Mode.PREVIEW:
        client.read_only = True
    backups = BackupStore(settings.state_dir / "backups", run.run_id)
    ctx = RunContext(client, settings, journal, backups, run.run_id, preview=mode is Mode.PREVIEW,
                     fence=fence or (lambda: None))
    status_file = settings.outbox_dir / safe_file_name(path.stem, " - IN PROGRESS", ".txt")
    waiting_file = status_file.with_name(status_file.name.replace(" - IN PROGRESS.txt", " - WAITING.txt"))
    by_hand = not _in_processing(path, settings)
    try:
        todo = plan(sheet, settings)
        total = len(todo)
        earlier = journal.finished_rows(run.run_id) if run.resumed else set()
        if earlier:
            todo = [t for t in todo if t.row.number not in earlier]
        label = ("Previewing " if mode is Mode.PREVIEW else "Processing ") + path.name
        progress = Progress(total, label=label, calls=lambda: client.stats.calls, rate_limit=settings.rate_limit,
                            status_file=status_file, stream=stream, already_done=total - len(todo))
        progress.report()
        try:
            engine = run_tasks(ctx, todo, workers=settings.workers, progress=progress, stop=stop, by_hand=by_hand)
            ctx.fence()  # the lock may have been lost while the last rows ran: then the results are not ours
        except LockLost:
            return FileOutcome(path, FileStatus.LOCK_LOST, mode=mode, run_id=run.run_id)
        progress.finish()
        # Every row's result, read back from the journal a row at a time (not held: issue 11's memory target).
        results = RunResults(journal.path, run.run_id, sheet.rows, engine.not_recorded)
        outcome = FileOutcome(path, FileStatus.PROCESSED, mode=mode, results=results,
                              counts=Counter(r.outcome for r in results),
                              email_to=list(dict.fromkeys(sheet.email_to + settings.mail_to)),
                              audit_path=audit.path, backups=None if ctx.preview else backups.folder, run_id=run.run_id,
                              by_hand=by_hand)
        note = ""
        if engine.halt_reason == DAILY:
            outcome.status = FileStatus.PAUSED
            outcome.resume_after = _next_midnight_utc()
            journal.set_status(run.run_id, PAUSED, outcome.resume_after.isoformat())
            note = ("Alma's daily API allowance ran out; the rows marked Not run continue after midnight UTC."
                    + (" Run the same command again then, or put the file in the inbox folder." if by_hand else ""))
        elif engine.halt_reason in (OUTAGE, KEY):
            # Not rejected, not done: the file waits and runs again (the watcher retries it after WAIT_RETRY).
            outcome.status = FileStatus.WAITING
            outcome.reason_kind = "key" if engine.halt_reason == KEY else "outage"
            outcome.reason = alma_trouble(engine.halt_error, settings)
            outcome.resume_after = datetime.now(timezone.utc) + WAIT_RETRY
            journal.set_status(run.run_id, PAUSED, outcome.resume_after.isoformat())
            note = outcome.reason + " The rows marked Not run continue when the file runs again."
            outcome.email_to = list(settings.mail_to)  # for the systems librarian: the key or Alma, not the file
            writes = sum(n for m, n in client.stats.by_method.items() if m != "GET")
            if not writes and not any(o is not Outcome.NOT_RUN for o in engine.outcomes):
                outcome.results, outcome.counts = [], Counter()  # nothing happened in this attempt: no workbook
                journal.note_attempt(run.run_id, client.stats.calls, force=True)
                _write_waiting(waiting_file, outcome)
                return outcome
        elif engine.stopped:
            outcome.status = FileStatus.STOPPED
            note = "The processor was stopped; the rows marked Not run continue when it starts again."
        else:
            journal.set_status(run.run_id, FINISHED)
        finished = datetime.now()
        kind = "PREVIEW" if mode is Mode.PREVIEW else "results"
        if outcome.status in (FileStatus.PAUSED, FileStatus.STOPPED, FileStatus.WAITING):
            kind = f"PARTIAL {kind}"  # not final: the rows marked Not run continue later
        target = unique_path(settings.outbox_dir, results_name(path.name, kind, finished), ".xlsx")
        journal.note_attempt(run.run_id, client.stats.calls, force=True)
        attempts, total_calls, total_seconds = journal.attempts(run.run_id)
        info = RunInfo(path.name, "Preview" if mode is Mode.PREVIEW else "Apply", settings.alma_description(),
                       started, finished, run.run_id, client.stats.calls, note,
                       attempts=attempts, total_calls=total_calls, total_seconds=total_seconds)
        info.rate = engine.rate  # the Alma call rate the run settled at (ALMA_RATE_LIMIT=auto finds it)
        outcome.results_path = write_results(target, sheet, results, info)
        if outcome.status is FileStatus.WAITING:
            _write_waiting(waiting_file, outcome)
        else:
            progress_file_cleanup(waiting_file)
            forget_told(settings, run.run_id)
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


def _in_processing(path: Path, settings: Settings) -> bool:
    """A file in the inbox's processing folder is the watcher's; any other was given to ``run`` by hand."""
    try:
        return path.resolve().parent == (Path(settings.inbox_dir) / "processing").resolve()
    except OSError:
        return False


def _write_waiting(waiting_file: Path, outcome: FileOutcome) -> None:
    """The outbox's "<file> - WAITING.txt": why the file waits and what happens next (replaced each attempt)."""
    text = (f"{outcome.source.name} is waiting (written {datetime.now():%Y-%m-%d %H:%M}).\n\n{outcome.summary()}\n")
    try:
        write_atomic(waiting_file, text)
    except OSError:
        pass


def _next_midnight_utc() -> datetime:
    now = datetime.now(timezone.utc)
    return (now + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
