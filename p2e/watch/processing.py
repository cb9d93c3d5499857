"""The processing folder: files claimed and not yet filed away, and when each one is due to run again.

A file stays in ``INBOX_DIR/processing/`` when its run was paused on Alma's daily allowance,
waits for Alma (a refused key, an outage), was stopped, or was cut short by a crash. The
journal says until when a paused or waiting run must wait (``resume_after``, matched to the
file by its SHA-256); a file whose processing failed unexpectedly waits
:data:`RETRY_AFTER_ERROR_SECONDS` in this process.

    processing = Processing(Path("inbox/processing"), Path("state/journal.sqlite3"))
    for path in processing.due():           # what may run now, oldest first
        ...                                 # run it; processing.retry_later(path) if it failed unexpectedly
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..journal import PAUSED, Journal
from ..pipeline import file_sha256
from .ignore import ignore_reason

log = logging.getLogger("p2e.watch")

RETRY_AFTER_ERROR_SECONDS = 300.0


def paused_until(journal_path: Path) -> dict[str, datetime]:
    """SHA-256 of each paused file -> when Alma's allowance lets it continue."""
    journal = Journal(journal_path)
    try:
        found = {}
        for run in journal.unfinished_runs():
            if run.status == PAUSED and run.resume_after:
                try:
                    until = datetime.fromisoformat(run.resume_after)
                except ValueError:
                    continue
                found[run.file_sha256] = until if until.tzinfo else until.replace(tzinfo=timezone.utc)
        return found
    finally:
        journal.close()


class Processing:
    """The files in processing/ that are due, oldest first (see :meth:`due`)."""

    def __init__(self, folder: Path, journal_path: Path):
        self.folder = Path(folder)
        self.journal_path = Path(journal_path)
        self._retry_at: dict[str, float] = {}                 # file name -> monotonic time
        self._digests: dict[tuple[str, int, int], str] = {}   # (name, size, mtime) -> SHA-256

    def due(self) -> Iterator[Path]:
        """Files left by a crash, a stop or a paused run that may run now, oldest first."""
        try:
            files = sorted((p for p in self.folder.iterdir() if p.is_file() and not ignore_reason(p)),
                           key=lambda p: (p.stat().st_mtime, p.name))
        except OSError as exc:
            log.warning("Could not look in %s: %s", self.folder, exc)
            return
        if not files:
            return
        paused = paused_until(self.journal_path)
        for path in files:
            if time.monotonic() < self._retry_at.get(path.name, 0):
                continue
            digest = self._digest(path)
            if digest is None:
                continue
            until = paused.get(digest)
            if until is not None and until > datetime.now(timezone.utc):
                continue
            yield path

    def retry_later(self, path: Path) -> None:
        """Processing failed unexpectedly: leave the file alone for :data:`RETRY_AFTER_ERROR_SECONDS`."""
        self._retry_at[path.name] = time.monotonic() + RETRY_AFTER_ERROR_SECONDS

    def ran(self, path: Path) -> None:
        """The file ran to an outcome: it is due by the journal's word alone again."""
        self._retry_at.pop(path.name, None)

    def _digest(self, path: Path) -> str | None:
        """SHA-256 of a file in processing/, remembered while its size and time stay the same."""
        try:
            st = path.stat()
            key = (path.name, st.st_size, st.st_mtime_ns)
            if key not in self._digests:
                self._digests[key] = file_sha256(path)
            return self._digests[key]
        except OSError:
            return None
