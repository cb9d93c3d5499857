"""The watcher: look at the inbox, claim what is ready, run it through the pipeline, file it away.

Everything else it uses has its own room: :mod:`~p2e.watch.inbox` says which files are ready,
:mod:`~p2e.watch.folders` moves them, :mod:`~p2e.watch.lock` keeps one watcher per inbox,
:mod:`~p2e.watch.processing` says which claimed files are due again, :func:`p2e.pipeline.process_file`
does the work (exactly as ``processor.py run FILE``), and :class:`p2e.notify.Delivery` sends the email.

    watch(settings)               # processor.py watch: look every POLL_SECONDS until stopped
    watch(settings, once=True)    # processor.py watch --once: handle what is there now, then exit
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigError, Settings
from ..errors import LockLost
from ..notify import Delivery
from ..pipeline import EXIT_OK, FileOutcome, process_file
from .folders import Folders, InboxMissing, claim, file_away, hidden_name_rejection
from .gate import RECHECK_SECONDS, KeyGate
from .inbox import INCOMPLETE_GRACE_SECONDS, Inbox
from .lock import DEFAULT_LOCK_STALE_SECONDS, WatcherLock
from ..journal import FILE_NAME as JOURNAL_FILE
from .processing import RETRY_AFTER_ERROR_SECONDS, Processing
from .signals import stop_on_signals

log = logging.getLogger("p2e.watch")

EXIT_ANOTHER_WATCHER = 3          # watch --once found another watcher at work and left everything alone
SETTLE_SECONDS = 2.0              # --once looks a second time within one run only if the settle time is this short


@dataclass
class Watcher:
    """Everything one watcher does; :func:`watch` runs it. Tests drive it directly.

    >>> Watcher(settings).run_once()        # doctest: +SKIP
    0
    """

    settings: Settings
    stop: threading.Event = field(default_factory=threading.Event)
    lock_stale_after: float = DEFAULT_LOCK_STALE_SECONDS
    settle_seconds: float | None = None   # how long a file must stay unchanged; None: POLL_SECONDS
    incomplete_grace: float = INCOMPLETE_GRACE_SECONDS
    mail_retry_seconds: float = 60.0
    preflight: bool = True                # run check's Alma checks at start, daily, and while the key is refused
    recheck_seconds: float = RECHECK_SECONDS

    def __post_init__(self) -> None:
        self.folders = Folders.of(self.settings)
        self.settle = self.settings.poll_seconds if self.settle_seconds is None else self.settle_seconds
        self.inbox = Inbox(self.folders.inbox, settle=self.settle, incomplete_grace=self.incomplete_grace,
                           memory=self.settings.state_dir / "inbox-seen.json")
        self.processing = Processing(self.folders.processing, Path(self.settings.state_dir) / JOURNAL_FILE)
        self.lock = WatcherLock(self.folders.inbox, stale_after=self.lock_stale_after)
        self.lock.on_lost = self.stop.set
        # Once the lock is lost, the mail queue is the other watcher's.
        self.mail = Delivery(self.settings, retry_seconds=self.mail_retry_seconds, stopped=self.lock.lost)
        self.exit_code = EXIT_OK
        self._told_waiting = False
        self.gate = KeyGate(self.settings, self.mail.tell, recheck_seconds=self.recheck_seconds) \
            if self.preflight else None

    # -- start and stop -----------------------------------------------------------------
    def check_folders(self) -> None:
        self.folders.prepare(Path(self.settings.outbox_dir))

    def wait_for_inbox(self) -> None:
        """The long-running watcher waits for a shared drive that is not connected yet, saying so once."""
        told = False
        while not self.stop.is_set():
            try:
                self.check_folders()
            except InboxMissing as exc:
                if not told:
                    log.error("%s The watcher looks again every %g seconds.", exc, self.settings.poll_seconds)
                    told = True
                self.stop.wait(self.settings.poll_seconds)
                continue
            if told:
                log.info("The inbox folder %s is there now.", self.folders.inbox)
            return

    def take_lock(self) -> bool:
        """The lock, or a plain message saying who has it."""
        if self.lock.acquire():
            log.info("Watching %s (one look every %g seconds). Results go to %s.", self.folders.inbox,
                     self.settings.poll_seconds, self.settings.outbox_dir)
            self._told_waiting = False
            return True
        if not self._told_waiting:
            holder = self.lock.holder()
            who = f"({holder.describe()})" if holder else f"(see {self.lock.path})"
            log.warning("Another watcher %s is already watching this inbox; this one will wait. If that watcher "
                        "was stopped, this one takes over once its lock is more than %d minutes old.",
                        who, round(self.lock_stale_after / 60) or 1)
            self._told_waiting = True
        return False

    # -- the two ways to run ------------------------------------------------------------
    def run_once(self) -> int:
        """``watch --once``: resume, look, handle what is ready, send mail, exit.

        A file is ready once it has stayed unchanged for the settle time (POLL_SECONDS), counting the
        looks of earlier runs (remembered in STATE_DIR): the run that first sees a file only notes it,
        and a later run takes it. When the settle time is short, this run looks a second time.
        """
        self.check_folders()
        if not self.lock.acquire():
            holder = self.lock.holder()
            who = f" ({holder.describe()})" if holder else ""
            log.warning("Another watcher%s is already watching this inbox; this run leaves everything to it "
                        "and exits.", who)
            return EXIT_ANOTHER_WATCHER
        self.lock.start_heartbeat(self._beat_interval())
        try:
            self._safe_look()  # notes what is there; files unchanged since an earlier run are ready
            self.resume_processing()
            short = self.settle <= SETTLE_SECONDS
            wait = self.settle if short and self.inbox.pending else 0
            if not self.stop.wait(wait):
                for path in self._safe_look():
                    if self.stop.is_set():
                        break
                    self.take(path)
                waiting = self.inbox.waiting()
                if waiting:
                    log.info("Left for the next run (new, still arriving, or open in a program): %s",
                             ", ".join(sorted(waiting)))
            self.mail.deliver(force=True)
        finally:
            self.lock.release()
        return self.exit_code

    def run_forever(self) -> int:
        """``watch``: wait for the lock, then one look every POLL_SECONDS until stopped.

        The loop is a look (:meth:`tick`), then a wait of POLL_SECONDS on the ``stop`` event, which a
        signal, a stop by a test, or a lost lock (``lock.on_lost``) sets, ending the wait at once. It
        does not use the ``schedule`` library: there is one job, so nothing to schedule; schedule
        takes whole seconds only; and it times jobs by the local wall clock, so the clock going back
        an hour in autumn would hold the watcher for an hour, where ``Event.wait`` counts on the
        monotonic clock. The lock's heartbeat cannot be a job in this loop either: one look that
        processes a large file lasts hours, so the heartbeat beats in its own thread.
        """
        self.wait_for_inbox()
        while not self.lock.held and not self.stop.is_set():
            if self.take_lock():
                break
            self.stop.wait(self.settings.poll_seconds)
        if self.stop.is_set():
            self.lock.release()  # stopped just as the lock was won: leave no lock behind
            return EXIT_OK
        self.lock.start_heartbeat(self._beat_interval())
        try:
            if self.gate is not None:
                self.gate.check_now()  # the pre-flight check at start; then daily (and while the key is refused)
            self.tick()
            while not self.stop.wait(self.settings.poll_seconds) and not self.lock.lost.is_set():
                self.tick()
        finally:
            self.lock.release()
        log.info("The watcher has stopped.")
        if self.lock.lost.is_set():
            log.error("Stopped watching %s because another watcher took over its lock.", self.folders.inbox)
            return 1
        return EXIT_OK  # a file's own outcome is in its results and email, not in the service's exit status

    def tick(self) -> None:
        """One look: files waiting in processing/ that are due, then new files in arrival order, then mail."""
        if self.lock.lost.is_set():
            self.stop.set()
            return
        if self.gate is not None:
            self.gate.allows()  # the daily check, or the re-check while the key is refused, when due
        self.resume_processing()
        for path in self._safe_look():
            if self.stop.is_set() or self.lock.lost.is_set():
                break
            self.take(path)
        self.mail.deliver()

    def _safe_look(self) -> list[Path]:
        try:
            return self.inbox.look()
        except OSError as exc:  # the share went away for a moment
            log.warning("Could not look in the inbox %s: %s. Trying again at the next look.", self.folders.inbox, exc)
            return []

    def _beat_interval(self) -> float:
        return max(0.2, min(30.0, self.lock_stale_after / 5))

    # -- files --------------------------------------------------------------------------
    def take(self, path: Path) -> None:
        """Claim a ready file from the inbox and process it (while Alma refuses the key, only a suggestion request)."""
        if self.gate is not None and not self.gate.allows_file(path):
            self.gate.hold(path)
            return
        try:
            self.lock.fence()
        except LockLost:
            self._lock_lost(path)
            return
        try:
            claimed = claim(path, self.folders)
        except FileNotFoundError:
            return  # staff took it back
        except OSError as exc:
            log.info("Could not move %s into processing yet (%s); trying again at the next look.", path.name, exc)
            self.inbox.forget(path)
            return
        self.inbox.forget(path)
        log.info("Picked up %s%s.", path.name, "" if claimed.name == path.name else f" (as {claimed.name})")
        self.handle(claimed)

    def resume_processing(self) -> None:
        """Process files left in processing/ by a crash, a stop or a paused run, when they are due."""
        for path in self.processing.due():
            if self.stop.is_set() or self.lock.lost.is_set():
                return
            if self.gate is not None and not self.gate.allows_file(path):
                continue  # Alma refuses the key: only a suggestion request goes on
            log.info("Resuming %s (left in processing by an earlier run).", path.name)
            self.handle(path)

    def handle(self, path: Path) -> None:
        """Run one file in processing/ through the pipeline, file it away by its outcome, and tell."""
        log.info("Processing %s", path.name)
        outcome: FileOutcome | None
        try:
            self.lock.fence()
            outcome = hidden_name_rejection(path, self.settings) or \
                process_file(path, self.settings, stop=self.stop, stream=None, fence=self.lock.fence)
            if outcome.status != "lock-lost":
                self.lock.fence()  # still ours: the file may be filed away and the email sent
        except LockLost:
            outcome = None
        except ConfigError:
            raise
        except Exception:
            log.exception("Processing %s failed unexpectedly; it stays in %s and is tried again in %d minutes.",
                          path.name, self.folders.processing, RETRY_AFTER_ERROR_SECONDS // 60)
            self.processing.retry_later(path)
            self.exit_code = max(self.exit_code, 1)
            return
        if outcome is None or outcome.status == "lock-lost":
            self._lock_lost(path)
            return
        self.processing.ran(path)
        where = self._file_away(path, outcome)
        if outcome.status == "stopped":
            return  # no email: the rest runs when the watcher starts again
        self.exit_code = max(self.exit_code, outcome.exit_code)
        self.mail.tell(outcome, where=where)

    def _file_away(self, path: Path, outcome: FileOutcome) -> Path:
        """Move the file by its outcome (done/, rejected/, or left in processing/); say so; return where it is."""
        where = path
        if outcome.status == "processed":
            where = file_away(path, self.folders.done, "processed")
        elif outcome.status == "rejected":
            where = file_away(path, self.folders.rejected, "rejected")
        log.info("%s", outcome.summary().replace(str(path), str(where)))
        if outcome.status == "stopped":
            log.info("%s stays in %s; the rows not run continue when the watcher starts again.", path.name,
                     self.folders.processing)
        elif outcome.status == "waiting":  # Alma unreachable or the key refused: tried again after resume_after
            log.warning("%s stays in %s: %s", path.name, self.folders.processing, outcome.reason)
        elif outcome.status == "paused":
            log.info("%s stays in %s until %s UTC, then continues by itself.", path.name, self.folders.processing,
                     f"{outcome.resume_after:%Y-%m-%d %H:%M}" if outcome.resume_after else "tomorrow")
        if outcome.status in ("processed", "rejected"):
            log.info("Moved %s to %s", path.name, where)
        return where

    def _lock_lost(self, path: Path) -> None:
        """Another watcher took the lock over while this one was frozen: leave everything to it and stop."""
        log.error("Another watcher took over this inbox while %s was being handled here. This watcher sent "
                  "nothing more to Alma, wrote no results and sends no email for it; the other watcher finishes "
                  "it. This watcher stops.", path.name)
        self.stop.set()
        self.exit_code = max(self.exit_code, 1)


def watch(settings: Settings, once: bool = False, *, stop: threading.Event | None = None,
          lock_stale_after: float = DEFAULT_LOCK_STALE_SECONDS, settle_seconds: float | None = None,
          **options: Any) -> int:
    """Watch the inbox (``once=False``) or handle what is there now (``once=True``); return an exit code.

    Exit codes: 0 all well; 1 a file had rows that failed or were not run; 2 a file was rejected
    or the settings are wrong; 3 (``--once``) another watcher is at work on this inbox.
    """
    watcher = Watcher(settings, stop=stop or threading.Event(), lock_stale_after=lock_stale_after,
                      settle_seconds=settle_seconds, **options)
    with stop_on_signals(watcher.stop):
        return watcher.run_once() if once else watcher.run_forever()
