"""The drop folder: watch the inbox, claim each finished file, process it, file it away, email.

    python processor.py watch          look at INBOX_DIR every POLL_SECONDS until stopped
    python processor.py watch --once   handle what is there now, then exit (cron, Task Scheduler)

The life of a staff file (nothing is overwritten, no staff file is ever deleted)::

    INBOX_DIR/p2e.xlsx                      dropped by staff; left alone while it is still being
                                            copied or saved, or is open in Excel
    INBOX_DIR/processing/p2e.xlsx           claimed with one rename; processed from here. A file
                                            paused on Alma's daily allowance, or interrupted by a
                                            crash or a stop, waits here and is resumed by the watcher
    INBOX_DIR/done/p2e - processed 2026-11-28 1412.xlsx      when it has been processed
    INBOX_DIR/rejected/p2e - rejected 2026-11-28 1412.xlsx   when it could not be processed
    OUTBOX_DIR/p2e - results 2026-11-28 1412.xlsx            (or "- REJECTED ...", "- PREVIEW ...")

Only one watcher looks after an inbox at a time, even across machines sharing the folder: see
:class:`WatcherLock`. The watcher calls :func:`p2e.pipeline.process_file`, exactly as
``processor.py run FILE`` does.
"""
from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import stat
import threading
import time
import uuid
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import schedule

from .config import ConfigError, Settings
from .errors import LockLost
from .journal import PAUSED, Journal
from .model import Problem
from .names import STEM_BYTES, safe_file_name
from .notify import MailQueue, queue_results, smtp_send
from .pipeline import EXIT_OK, FileOutcome, file_sha256, process_file, reject
from .report import unique_path
from .waiting import queue_waiting_mail

log = logging.getLogger("p2e.watch")

EXIT_ANOTHER_WATCHER = 3          # watch --once found another watcher at work and left everything alone
LOCK_NAME = ".p2e-watcher.lock"
DEFAULT_LOCK_STALE_SECONDS = 600.0  # a lock whose heartbeat is older than this is taken over
SETTLE_SECONDS = 2.0              # --once looks a second time within one run only if the settle time is this short
INCOMPLETE_GRACE_SECONDS = 120.0  # a file that is not whole (see is_whole) waits this long before it is tried
RETRY_AFTER_ERROR_SECONDS = 300.0

# What a staff file can be. Anything else that is not hidden or temporary is also handed to the
# pipeline, which rejects it with a message ("save it as .xlsx"), so nothing waits unseen.
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".csv", ".xls", ".xlsb", ".numbers", ".ods"}
TEMPORARY_SUFFIXES = {".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".lnk", ".ini"}
SYSTEM_NAMES = {"desktop.ini", "thumbs.db", "ehthumbs.db", ".ds_store", "icon\r"}
# Hidden files that systems and tools make beside or instead of a file: macOS resource forks ("._x"),
# NFS and Samba leftovers, FUSE, GNOME and Emacs temporaries, our own lock.
HIDDEN_SYSTEM_PREFIXES = ("._", ".nfs", ".smbdelete", ".fuse_hidden", ".goutputstream-", ".#", ".~", LOCK_NAME)
_RSYNC_TEMP = re.compile(r"^\..+\.[A-Za-z0-9]{6}$")  # rsync writes ".name.xlsx.Ab12Cd", then renames
_EXCEL_SAVE_TEMP = re.compile(r"^[0-9A-F]{8}$")  # Excel saves to e.g. "6E2F1A00" then renames


# -- which files ------------------------------------------------------------------------------

def ignore_reason(path: Path) -> str | None:
    """Why ``path`` in the inbox is not a staff file (None when it is one).

    A file whose name merely starts with a dot is not ignored: it is refused with a message
    (see :func:`hidden_name_rejection`), so nothing waits in the inbox unseen.

    >>> ignore_reason(Path("~$p2e.xlsx")), ignore_reason(Path(".~lock.p2e.xlsx#")), ignore_reason(Path("p2e.xls"))
    ('an Excel lock file', 'a LibreOffice lock file', None)
    """
    name = path.name
    if name.startswith("~$"):
        return "an Excel lock file"
    if name.startswith(".~lock.") and name.endswith("#"):
        return "a LibreOffice lock file"
    if name.lower() in SYSTEM_NAMES or name.startswith(HIDDEN_SYSTEM_PREFIXES) or _RSYNC_TEMP.match(name):
        return "a hidden or system file"
    if name.startswith("~") or path.suffix.lower() in TEMPORARY_SUFFIXES or _EXCEL_SAVE_TEMP.match(name):
        return "a temporary file"
    return None


def hidden_name_rejection(path: Path, settings: Settings) -> FileOutcome | None:
    """A file whose name starts with a dot is refused (REJECTED workbook, email), not processed.

    Such a name hides the file on Macs and Linux and is what tools give their temporary copies, so
    the file may not be the one staff meant to drop; it is not read and nothing is sent to Alma.
    """
    if not path.name.startswith("."):
        return None
    return reject(path, settings, [Problem(
        f"The file name '{safe_file_name(path.stem, '', path.suffix, visible=False)}' starts with a dot. "
        "That hides the file on Macs and Linux and is how programs name their temporary copies, so it "
        "was not processed. Rename it so that the name does not start with a dot, then put it in the "
        "inbox folder again.")])


def _hidden_on_windows(st: os.stat_result) -> bool:
    attributes = getattr(st, "st_file_attributes", 0)
    return bool(attributes & (getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(stat, "FILE_ATTRIBUTE_SYSTEM", 4)))


def lock_files_for(path: Path) -> list[Path]:
    """The lock files Excel and LibreOffice keep beside a workbook while it is open."""
    name = path.name
    names = {f"~${name}", f".~lock.{name}#"}
    if len(path.stem) > 7:  # Excel replaces the first two characters of longer names
        names.add(f"~${name[2:]}")
    return [path.with_name(n) for n in names]


def arrival_time(st: os.stat_result) -> float:
    """When a file appeared: its creation time where the system keeps one, else its inode change time."""
    return getattr(st, "st_birthtime", None) or st.st_ctime


@dataclass
class Seen:
    size: int
    mtime_ns: int
    since: float                 # wall-clock time of the first look that saw this size and time
    first: float                 # wall-clock time of the look in which the file was first seen (arrival order)
    arrived: float
    told: bool = False           # already logged why it waits


class Inbox:
    """The inbox folder, looked at poll after poll; :meth:`ready` lists files safe to claim.

    A file is ready when its size and modification time have stayed the same across looks at
    least ``settle`` seconds apart (POLL_SECONDS for the watcher), it can be opened, no
    spreadsheet program has it open (no ``~$`` / ``.~lock`` file beside it), and it is whole
    where that can be told: an .xlsx/.xlsm is a complete zip with its central directory, a .csv
    ends with a line end. A file that stays unchanged but not whole for ``incomplete_grace``
    seconds is handed on anyway, so a damaged one reaches the pipeline and is rejected with a
    message rather than waiting unseen.

    With ``memory`` (a small JSON file in STATE_DIR) what was seen is remembered across
    processes, so one ``watch --once`` notes a new file and a later one takes it if unchanged.
    """

    def __init__(self, folder: Path, *, settle: float = 0.0, incomplete_grace: float = INCOMPLETE_GRACE_SECONDS,
                 memory: Path | None = None):
        self.folder = Path(folder)
        self.settle = settle
        self.incomplete_grace = incomplete_grace
        self.memory = Path(memory) if memory else None
        self._seen: dict[str, Seen] = self._load()
        self._saved = ""
        self._ignored: set[str] = set()
        self.pending: list[str] = []     # seen at the last look but not ready yet

    def look(self) -> list[Path]:
        """Record the inbox's files as they are now; return those ready, in arrival order."""
        now = time.time()
        current: dict[str, Seen] = {}
        ready: list[tuple[float, float, str]] = []
        pending: list[str] = []
        for entry in os.scandir(self.folder):
            try:
                if not entry.is_file(follow_symlinks=True):
                    continue
                st = entry.stat()
            except OSError:
                continue  # gone between listing and looking
            path = Path(entry.path)
            reason = ignore_reason(path) or ("a hidden file" if _hidden_on_windows(st) else None)
            if reason:
                if entry.name not in self._ignored:
                    self._ignored.add(entry.name)
                    log.debug("Ignoring %s in the inbox: it is %s.", entry.name, reason)
                continue
            before = self._seen.get(entry.name)
            if before and (before.size, before.mtime_ns) == (st.st_size, st.st_mtime_ns):
                seen = before
            else:
                seen = Seen(st.st_size, st.st_mtime_ns, now, before.first if before else now, arrival_time(st))
            current[entry.name] = seen
            if seen is before and now - seen.since >= self.settle and self._is_ready(path, seen, now):
                ready.append((seen.first, seen.arrived, entry.name))
            else:
                pending.append(entry.name)
        self._seen = current
        self.pending = pending
        self._save()
        return [self.folder / name for _, _, name in sorted(ready)]

    def _is_ready(self, path: Path, seen: Seen, now: float) -> bool:
        open_in = [p.name for p in lock_files_for(path) if _exists(p)]
        if open_in:
            self._tell(seen, "%s is open in a spreadsheet program (%s is beside it); it will be picked up once "
                             "it is closed.", path.name, open_in[0])
            return False
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError:
            self._tell(seen, "%s cannot be opened yet (still being copied or saved?); waiting.", path.name)
            return False
        if not is_whole(path) and now - seen.since < self.incomplete_grace:
            self._tell(seen, "%s is not complete yet (still being copied?); waiting.", path.name)
            return False
        return True

    @staticmethod
    def _tell(seen: Seen, message: str, *args) -> None:
        if not seen.told:
            seen.told = True
            log.info(message, *args)

    def waiting(self) -> list[str]:
        """Names seen at the last look and still in the inbox (not ready yet, or not claimed)."""
        return [name for name in self._seen if (self.folder / name).exists()]

    def forget(self, path: Path) -> None:
        self._seen.pop(path.name, None)
        self._save()

    # -- remembered across processes (watch --once) ---------------------------------------
    def _load(self) -> dict[str, Seen]:
        if self.memory is None:
            return {}
        try:
            data = json.loads(self.memory.read_text(encoding="utf-8"))
            return {str(name): Seen(int(v["size"]), int(v["mtime_ns"]), float(v["since"]), float(v["first"]),
                                    float(v["arrived"])) for name, v in data.items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return {}  # none yet, or unreadable: every file is simply seen afresh

    def _save(self) -> None:
        if self.memory is None:
            return
        text = json.dumps({name: {"size": s.size, "mtime_ns": s.mtime_ns, "since": s.since, "first": s.first,
                                  "arrived": s.arrived} for name, s in self._seen.items()}, indent=1)
        if text == self._saved:
            return
        try:
            self.memory.parent.mkdir(parents=True, exist_ok=True)
            temp = self.memory.with_name(self.memory.name + ".tmp")
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, self.memory)
            self._saved = text
        except OSError as exc:
            log.warning("Could not remember what is in the inbox (%s): %s", self.memory, exc)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. the lock-file name of a long file name would be too long: it cannot exist
        return False


def is_whole(path: Path) -> bool:
    """Whether a file is structurally complete, where its type tells: an .xlsx/.xlsm is a zip whose central
    directory can be read; a .csv ends with a line end. Other files: True (nothing to tell by)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            with zipfile.ZipFile(path) as archive:
                return bool(archive.namelist())
        if suffix == ".csv":
            with open(path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() == 0:
                    return False
                handle.seek(-1, os.SEEK_END)
                return handle.read(1) in (b"\n", b"\r")
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return True


# -- the folders and moves ------------------------------------------------------------------

@dataclass
class Folders:
    """Where a staff file is during its life. All inside the inbox, so every move is one rename."""

    inbox: Path
    processing: Path
    done: Path
    rejected: Path

    @classmethod
    def of(cls, settings: Settings) -> "Folders":
        inbox = Path(settings.inbox_dir)
        return cls(inbox, inbox / "processing", inbox / "done", inbox / "rejected")

    def create(self) -> None:
        for folder in (self.processing, self.done, self.rejected):
            folder.mkdir(exist_ok=True)


def claim(path: Path, folders: Folders) -> Path:
    """Move a staff file from the inbox into processing/ with one rename; return its new path.

    The name is kept (results are named after it); if a file of that name is already being
    processed, the newcomer becomes "name (2).xlsx". Raises OSError if the file cannot be moved
    (for example Windows says another program has it open).
    """
    target = folders.processing / path.name
    n = 2
    while target.exists():  # like unique_path, but a leading dot is kept: such a file is refused, not run
        target = folders.processing / safe_file_name(path.stem, f" ({n})", path.suffix, visible=False)
        n += 1
    os.replace(path, target)
    return target


def file_away(path: Path, folder: Path, label: str, when: datetime | None = None) -> Path:
    """Move a processed file out of processing/ into ``folder`` as "<name> - <label> <date time><suffix>"."""
    when = when or datetime.now()
    stem = safe_file_name(path.stem, f" - {label} {when:%Y-%m-%d %H%M}", limit=STEM_BYTES)
    target = unique_path(folder, stem, path.suffix)
    os.replace(path, target)
    return target


# -- one watcher per inbox --------------------------------------------------------------------

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
        self.on_lost = None  # called once if another watcher takes the lock while we hold it
        self._beat: threading.Thread | None = None
        self._stop_beat = threading.Event()
        self._beat_every = max(0.2, min(30.0, stale_after / 5))
        self._beat_at = 0.0               # wall-clock time our heartbeat was last written
        self._file_lock = threading.RLock()  # one writer of the lock file at a time in this process

    def _info(self) -> dict:
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
                and not _process_exists(info.pid):
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
    def _read(path: Path) -> dict | None:
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

        self._beat = threading.Thread(target=beat, name="p2e-watcher-heartbeat", daemon=True)
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


def _process_exists(pid: int) -> bool:
    """Whether a process with this id runs on this machine (when unsure: yes, and the heartbeat decides)."""
    if os.name == "nt":
        return _windows_process_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_process_exists(pid: int) -> bool:
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists, under another account
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except Exception:
        return True


class InboxMissing(ConfigError):
    """INBOX_DIR is not there: a wrong setting, or a shared drive that is not connected (yet)."""


# -- the watcher ------------------------------------------------------------------------------

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

    def __post_init__(self):
        self.folders = Folders.of(self.settings)
        if self.settle_seconds is None:
            self.settle_seconds = self.settings.poll_seconds
        self.inbox = Inbox(self.folders.inbox, settle=self.settle_seconds, incomplete_grace=self.incomplete_grace,
                           memory=self.settings.state_dir / "inbox-seen.json")
        self.lock = WatcherLock(self.folders.inbox, stale_after=self.lock_stale_after)
        self.lock.on_lost = self.stop.set
        self.mail = MailQueue(self.settings.state_dir / "mail-queue")
        self.exit_code = EXIT_OK
        self._retry_at: dict[str, float] = {}       # processing file name -> monotonic time
        self._mail_next = 0.0
        self._mail_failures = 0
        self._told_waiting = False
        self._digests: dict[tuple, str] = {}

    # -- start and stop -----------------------------------------------------------------
    def check_folders(self) -> None:
        inbox = self.folders.inbox
        if not inbox.is_dir():
            raise InboxMissing(f"The inbox folder {inbox} does not exist, or the shared drive holding it is not "
                              "connected. Check INBOX_DIR in the settings (and that the drive is mapped or mounted).")
        if Path(self.settings.outbox_dir).resolve() == inbox.resolve():
            raise ConfigError("INBOX_DIR and OUTBOX_DIR are the same folder; the results would be taken for new "
                              "files. Give the outbox its own folder.")
        self.folders.create()
        Path(self.settings.outbox_dir).mkdir(parents=True, exist_ok=True)

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

    # -- one pass ------------------------------------------------------------------------
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
            short = self.settle_seconds <= SETTLE_SECONDS
            wait = self.settle_seconds if short and self.inbox.pending else 0
            if not self.stop.wait(wait):
                for path in self._safe_look():
                    if self.stop.is_set():
                        break
                    self.take(path)
                waiting = self.inbox.waiting()
                if waiting:
                    log.info("Left for the next run (new, still arriving, or open in a program): %s",
                             ", ".join(sorted(waiting)))
            self.send_mail(force=True)
        finally:
            self.lock.release()
        return self.exit_code

    def run_forever(self) -> int:
        """``watch``: wait for the lock, then look every POLL_SECONDS until stopped."""
        self.wait_for_inbox()
        while not self.lock.held and not self.stop.is_set():
            if self.take_lock():
                break
            self.stop.wait(self.settings.poll_seconds)
        if self.stop.is_set():
            self.lock.release()  # stopped just as the lock was won: leave no lock behind
            return EXIT_OK
        self.lock.start_heartbeat(self._beat_interval())
        scheduler = schedule.Scheduler()
        scheduler.every(self.settings.poll_seconds).seconds.do(self.tick)
        try:
            self.tick()
            while not self.stop.is_set() and not self.lock.lost.is_set():
                scheduler.run_pending()
                idle = scheduler.idle_seconds
                self.stop.wait(max(0.05, min(idle if idle is not None else 1.0, 1.0)))
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
        self.resume_processing()
        for path in self._safe_look():
            if self.stop.is_set() or self.lock.lost.is_set():
                break
            self.take(path)
        self.send_mail()

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
        """Claim a ready file from the inbox and process it."""
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
        try:
            files = sorted((p for p in self.folders.processing.iterdir() if p.is_file() and not ignore_reason(p)),
                           key=lambda p: (p.stat().st_mtime, p.name))
        except OSError as exc:
            log.warning("Could not look in %s: %s", self.folders.processing, exc)
            return
        if not files:
            return
        paused = self._paused_until()
        for path in files:
            if self.stop.is_set() or self.lock.lost.is_set():
                return
            if time.monotonic() < self._retry_at.get(path.name, 0):
                continue
            digest = self._digest(path)
            if digest is None:
                continue
            until = paused.get(digest)
            if until is not None and until > datetime.now(timezone.utc):
                continue
            log.info("Resuming %s (left in processing by an earlier run).", path.name)
            self.handle(path)

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

    def _paused_until(self) -> dict[str, datetime]:
        """SHA-256 of each paused file -> when Alma's allowance lets it continue."""
        journal = Journal(self.settings.state_dir / "journal.sqlite3")
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

    def handle(self, path: Path) -> None:
        """Run one file in processing/ through the pipeline and file it away by its outcome."""
        log.info("Processing %s", path.name)
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
            self._retry_at[path.name] = time.monotonic() + RETRY_AFTER_ERROR_SECONDS
            self.exit_code = max(self.exit_code, 1)
            return
        if outcome is None or outcome.status == "lock-lost":
            self._lock_lost(path)
            return
        self._retry_at.pop(path.name, None)
        where = path
        if outcome.status == "processed":
            where = file_away(path, self.folders.done, "processed")
        elif outcome.status == "rejected":
            where = file_away(path, self.folders.rejected, "rejected")
        log.info("%s", outcome.summary().replace(str(path), str(where)))
        if outcome.status == "stopped":
            log.info("%s stays in %s; the rows not run continue when the watcher starts again.", path.name,
                     self.folders.processing)
            return
        if outcome.status == "waiting":  # Alma unreachable or the key refused: tried again after resume_after
            log.warning("%s stays in %s: %s", path.name, self.folders.processing, outcome.reason)
            self.exit_code = max(self.exit_code, outcome.exit_code)
            if queue_waiting_mail(outcome, self.settings, self.mail, where=path):  # once per episode
                self.send_mail()
            return
        if outcome.status == "paused":
            log.info("%s stays in %s until %s UTC, then continues by itself.", path.name, self.folders.processing,
                     f"{outcome.resume_after:%Y-%m-%d %H:%M}" if outcome.resume_after else "tomorrow")
        if outcome.status in ("processed", "rejected"):
            log.info("Moved %s to %s", path.name, where)
        self.exit_code = max(self.exit_code, outcome.exit_code)
        queue_results(outcome, self.settings, self.mail, where=where)
        self.send_mail()

    def _lock_lost(self, path: Path) -> None:
        """Another watcher took the lock over while this one was frozen: leave everything to it and stop."""
        log.error("Another watcher took over this inbox while %s was being handled here. This watcher sent "
                  "nothing more to Alma, wrote no results and sends no email for it; the other watcher finishes "
                  "it. This watcher stops.", path.name)
        self.stop.set()
        self.exit_code = max(self.exit_code, 1)

    # -- mail ----------------------------------------------------------------------------
    def _send_guarded(self, message, settings):
        try:
            smtp_send(message, settings)
        except Exception:
            self._mail_failures += 1
            self._mail_next = time.monotonic() + min(3600.0, self.mail_retry_seconds * 2 ** (self._mail_failures - 1))
            raise
        self._mail_failures = 0

    def send_mail(self, force: bool = False) -> None:
        """Send what waits in the mail queue; after a failure, wait longer each time (up to an hour)."""
        if self.lock.lost.is_set():
            return  # the mail queue is the other watcher's now
        if not force and time.monotonic() < self._mail_next:
            return
        try:
            self.mail.flush(self.settings, send=self._send_guarded)
        except Exception:
            log.exception("Could not work through the mail queue %s; trying again later.", self.mail.folder)


@contextmanager
def stop_on_signals(stop: threading.Event):
    """Ctrl-C, SIGTERM (systemd, NSSM) and Ctrl-Break set ``stop``: the row in flight finishes, then exit.

    A second Ctrl-C stops at once. Only installs handlers in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [n for n in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, n)]
    previous = {}

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("Stopping (%s): finishing the row in flight and saving the journal; press Ctrl-C again to "
                    "stop at once.", signal.Signals(signum).name)
        stop.set()

    for name in names:
        number = getattr(signal, name)
        previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def watch(settings: Settings, once: bool = False, *, stop: threading.Event | None = None,
          lock_stale_after: float = DEFAULT_LOCK_STALE_SECONDS, settle_seconds: float | None = None,
          **options) -> int:
    """Watch the inbox (``once=False``) or handle what is there now (``once=True``); return an exit code.

    Exit codes: 0 all well; 1 a file had rows that failed or were not run; 2 a file was rejected
    or the settings are wrong; 3 (``--once``) another watcher is at work on this inbox.
    """
    watcher = Watcher(settings, stop=stop or threading.Event(), lock_stale_after=lock_stale_after,
                      settle_seconds=settle_seconds, **options)
    with stop_on_signals(watcher.stop):
        return watcher.run_once() if once else watcher.run_forever()
