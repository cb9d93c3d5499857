"""Which files in the inbox are staff files: lock files, system files and temporary copies are not.

A file whose name merely starts with a dot is not ignored: it is refused with a message (see
:func:`p2e.watch.folders.hidden_name_rejection`), so nothing waits in the inbox unseen. Anything
else that is not hidden or temporary is handed to the pipeline, which rejects a file of another
type with a message ("save it as .xlsx").

>>> ignore_reason(Path("desktop.ini")), ignore_reason(Path("p2e.xlsx.crdownload")), ignore_reason(Path(".p2e.xlsx"))
('a hidden or system file', 'a temporary file', None)
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .lock import LOCK_NAME

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


def ignore_reason(path: Path) -> str | None:
    """Why ``path`` in the inbox is not a staff file (None when it is one).

    A file whose name merely starts with a dot is not ignored: it is refused with a message
    (see :func:`~p2e.watch.folders.hidden_name_rejection`), so nothing waits in the inbox unseen.

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


def hidden_on_windows(st: os.stat_result) -> bool:
    """Whether Windows marks the file hidden or system (never on other systems)."""
    attributes = getattr(st, "st_file_attributes", 0)
    return bool(attributes & (getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(stat, "FILE_ATTRIBUTE_SYSTEM", 4)))

