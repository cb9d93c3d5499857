"""The inbox's stability rules: a file is taken only once it has stopped changing and is whole.

A file is ready when its size and modification time have stayed the same across looks at least
the settle time apart (POLL_SECONDS for the watcher), it can be opened, no spreadsheet program
has it open (no ``~$`` / ``.~lock`` file beside it), and it is whole where that can be told.
What was seen can be remembered across processes (``STATE_DIR/inbox-seen.json``), so one
``watch --once`` notes a new file and a later one takes it if unchanged.

>>> sorted(p.name for p in lock_files_for(Path("inbox/p2e.xlsx")))
['.~lock.p2e.xlsx#', '~$p2e.xlsx']
"""
from __future__ import annotations

import json
import logging
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic
from .ignore import hidden_on_windows, ignore_reason

log = logging.getLogger("p2e.watch")

INCOMPLETE_GRACE_SECONDS = 120.0  # a file that is not whole (see is_whole) waits this long before it is tried


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
            reason = ignore_reason(path) or ("a hidden file" if hidden_on_windows(st) else None)
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
    def _tell(seen: Seen, message: str, *args: object) -> None:
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
            write_atomic(self.memory, text)
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

