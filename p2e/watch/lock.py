"""One watcher per inbox, even across machines sharing the folder: a lock file with a heartbeat.

The lock is ``INBOX_DIR/.p2e-watcher.lock``, taken with ``O_CREAT | O_EXCL``; its holder
refreshes the heartbeat in it every few seconds and proves it still holds it
(:meth:`WatcherLock.fence`) before every row and every write to Alma. Another watcher takes it
over only when the heartbeat is stale, or at once when the holder was a process on the same
machine that no longer exists (:func:`p2e.watch.processes.process_exists`).

>>> LockInfo("lib-srv-2", 4242, "not a time", "", "t").describe()
'host lib-srv-2, process 4242, started at an unknown time'
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..errors import LockLost
from .processes import process_exists

log = logging.getLogger("p2e.watch")

LOCK_NAME = ".p2e-watcher.lock"
DEFAULT_LOCK_STALE_SECONDS = 600.0  # a lock whose heartbeat is older than this is taken over


@dataclass
class LockInfo:
    host: str
    pid: int
    started: str
    heartbeat: str
    token: str

    @property
    def heartbeat_time(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.heartbeat)
        except (TypeError, ValueError):
            return None

    def describe(self) -> str:
        try:
            started = datetime.fromisoformat(self.started).astimezone()
            when = f"{started:%H:%M}" if started.date() == datetime.now().astimezone().date() else f"{started:%Y-%m-%d %H:%M}"
        except (TypeError, ValueError):
            when = "at an unknown time"
        return f"host {self.host}, process {self.pid}, started {when}"


class WatcherLock:
    """A lock file in the inbox that holds across machines sharing the folder.

    Taken with ``O_CREAT | O_EXCL`` (which SMB and NFS honour), it records host, process,
    start time, a heartbeat that the holder refreshes every few seconds, and the holder's
    random token. Another watcher takes it over only when the heartbeat is older than
    ``stale_after`` seconds, or when the holder is a process on the same machine that no
    longer exists.

    The token is a fencing token: before every row it starts and every write it sends, the
    holder calls :meth:`fence`, which reads the lock file and raises
    :class:`~p2e.errors.LockLost` unless the token there is still its own. So a watcher that
    was frozen (laptop asleep, VM paused, share stalled) while another took over stops as soon
    as it wakes, instead of carrying on until its next heartbeat.

    >>> lock = WatcherLock(Path("inbox"))     # doctest: +SKIP
    >>> lock.acquire()                        # doctest: +SKIP
    True
    """

    def __init__(self, folder: Path, stale_after: float = DEFAULT_LOCK_STALE_SECONDS):
        self.path = Path(folder) / LOCK_NAME
        self.stale_after = stale_after
        self.token = uuid.uuid4().hex
        self.started = _utc_now()
        self.held = False
        self.lost = threading.Event()
        self.on_lost: Callable[[], None] | None = None  # called once if another watcher takes the lock while we hold it
        self._beat: threading.Thread | None = None
        self._stop_beat = threading.Event()
        self._beat_every = max(0.2, min(30.0, stale_after / 5))
        self._beat_at = 0.0               # wall-clock time our heartbeat was last written
        self._file_lock = threading.RLock()  # one writer of the lock file at a time in this process

    def _info(self) -> dict[str, object]:
        return {"host": socket.gethostname(), "pid": os.getpid(), "started": self.started,
                "heartbeat": _utc_now(), "token": self.token}

    def holder(self) -> LockInfo | None:
        """Who holds the lock now (None if nobody, or the file is being rewritten)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return LockInfo(str(data["host"]), int(data["pid"]), str(data["started"]), str(data["heartbeat"]),
                            str(data["token"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def is_stale(self, info: LockInfo | None) -> bool:
        if info is not None and info.host == socket.gethostname() and info.pid != os.getpid() \
                and not process_exists(info.pid):
            return True
        times = []
        if info is not None and info.heartbeat_time is not None:
            times.append(info.heartbeat_time.timestamp())
        try:
            times.append(self.path.stat().st_mtime)
        except OSError:
            return False
        return time.time() - max(times) > self.stale_after

    def acquire(self) -> bool:
        """Take the lock if it is free or stale; False if another watcher holds it."""
        if self._create():
            return True
        info = self.holder()
        if not self.is_stale(info):
            return False
        who = info.describe() if info else "unknown"
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{self.token[:8]}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return self._create()
        moved = self._read(aside)
        if info is not None and (moved is None or moved.get("token") != info.token
                                 or moved.get("heartbeat") != info.heartbeat):
            # Another watcher took over, or the holder woke up and beat, between our look and our
            # move: give the lock back.
            try:
                os.replace(aside, self.path)
            except OSError:
                pass
            return False
        aside.unlink(missing_ok=True)
        log.warning("Took over the watcher lock of %s: it had not been refreshed for more than %d seconds.",
                    who, self.stale_after)
        return self._create()

    @staticmethod
    def _read(path: Path) -> dict[str, object] | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self._info(), handle)
            handle.flush()
            os.fsync(handle.fileno())
        self.held = True
        self._beat_at = time.time()
        self.lost.clear()
        return True

    def refresh(self) -> bool:
        """Rewrite the heartbeat; False (and ``lost`` set) if another watcher now holds the lock.

        A lock file deleted by hand is written again; a share that cannot be read for a moment
        is tried again at the next beat.
        """
        with self._file_lock:
            return self._refresh()

    def _refresh(self) -> bool:
        if not self.held:
            return False
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.held = False
            if self._create():
                log.warning("The watcher lock %s had disappeared; it has been written again.", self.path)
                return True
            return self._lose()
        except OSError as exc:
            log.warning("Could not read the watcher lock %s: %s. Trying again at the next heartbeat.", self.path, exc)
            return True
        try:
            token = json.loads(text).get("token")
        except (ValueError, AttributeError):
            token = self.token  # half-written by ourselves a moment ago
        if token != self.token:
            return self._lose()
        try:
            with open(self.path, "r+", encoding="utf-8") as handle:
                fresh = json.dumps(self._info())
                handle.write(fresh)
                handle.truncate(len(fresh))
            self._beat_at = time.time()
        except OSError as exc:
            log.warning("Could not refresh the watcher lock %s: %s. Trying again at the next heartbeat.", self.path, exc)
        return True

    def fence(self) -> None:
        """Prove that this watcher still holds the lock, or raise :class:`~p2e.errors.LockLost`.

        Called before every row is started and before every write is sent to Alma. The lock file
        is read and its token compared with this watcher's. When this watcher's own heartbeat is
        older than two beats (the whole process was frozen), the heartbeat is written now, so a
        watcher about to take over sees a live holder. A lock file that cannot be read after a few
        tries proves nothing, so it counts as lost too: safety first.
        """
        with self._file_lock:
            for _ in range(3):
                if not self.held or self.lost.is_set():
                    break
                try:
                    token = json.loads(self.path.read_text(encoding="utf-8")).get("token")
                except FileNotFoundError:
                    if self._refresh():  # deleted by hand (or mid-takeover): written again if still free
                        return
                    break
                except (OSError, ValueError, AttributeError):
                    time.sleep(0.2)  # the share hiccupped, or the file is being rewritten
                    continue
                if token != self.token:
                    self._lose()
                    break
                if time.time() - self._beat_at > 2 * self._beat_every:
                    self._refresh()
                return
            if self.held:
                self._lose()
        raise LockLost("Another watcher has taken over this inbox (or its lock file could not be read); this "
                       "watcher stops here and sends nothing more to Alma.")

    def _lose(self) -> bool:
        self.held = False
        self.lost.set()
        log.error("Another watcher has taken this watcher's lock (%s); this one stops after the row in flight.",
                  self.path)
        if self.on_lost:
            self.on_lost()
        return False

    def start_heartbeat(self, every: float) -> None:
        self._stop_beat.clear()
        self._beat_every = every

        def beat() -> None:
            while not self._stop_beat.wait(every):
                if not self.refresh():
                    return

        name = f"{threading.current_thread().name}-heartbeat"  # p2e-<CODE>-heartbeat: its institution's log
        self._beat = threading.Thread(target=beat, name=name, daemon=True)
        self._beat.start()

    def release(self) -> None:
        self._stop_beat.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        with self._file_lock:
            if self.held:
                info = self.holder()
                if info is None or info.token == self.token:
                    self.path.unlink(missing_ok=True)
                self.held = False


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
