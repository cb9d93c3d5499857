"""The names of the files the processor makes from a staff file's name, safe on any file system and in mail.

Every derived name - the results, PARTIAL, PREVIEW and REJECTED workbooks, the audit file, the
status file, the copies filed in done/ and rejected/, the name in an email's subject - is made by
:func:`safe_file_name`, so a staff file with a very long name, a newline or a leading dot in it is
still answered::

    >>> safe_file_name("UIU\\nP2E clean-up", " - results 2026-11-28 1412", ".xlsx")
    'UIU P2E clean-up - results 2026-11-28 1412.xlsx'
"""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

# Most file systems allow 255 bytes in one name (ext4, APFS, SMB shares; NTFS 255 UTF-16 units).
# Derived names stay well under that, leaving room for " (2)" and ".tmp" and for deep folders.
NAME_BYTES = 200
STEM_BYTES = NAME_BYTES - 24      # a name to which unique_path still adds " (99)" and a suffix
SUFFIX_BYTES = 16
ELLIPSIS = "..."

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")  # control characters, line and
#                                                   paragraph separators, undecodable bytes of a name
_RESERVED = re.compile(r'[<>:"/\\|?*]')             # characters Windows does not allow in a name


def clean_text(text: str) -> str:
    """``text`` on one line: each run of control characters (newline, tab...) becomes one space."""
    return _CONTROL.sub(" ", text)


def _cut(text: str, limit: int) -> str:
    """The longest start of ``text`` within ``limit`` UTF-8 bytes, never half a character."""
    return text.encode("utf-8")[:max(0, limit)].decode("utf-8", errors="ignore")


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def safe_file_name(stem: str, tail: str = "", suffix: str = "", *, limit: int = NAME_BYTES,
                   visible: bool = True) -> str:
    """``stem + tail + suffix``, cleaned and shortened to at most ``limit`` UTF-8 bytes.

    Control characters become spaces and characters Windows refuses become "_". When the whole is
    too long, the end of ``stem`` is cut (marked "...") and the start of the staff's name, the
    ``tail`` (" - results 2026-11-28 1412", a run ID, " (2)") and the suffix are kept. With
    ``visible`` (the default) the name does not start with a dot or a space, so it is not hidden.
    """
    stem = _RESERVED.sub("_", clean_text(stem)).strip(" ")
    if visible:
        stem = stem.lstrip(". ")
    tail = _cut(_RESERVED.sub("_", clean_text(tail)), limit // 2)
    suffix = _cut(_RESERVED.sub("_", clean_text(suffix)).strip(" "), SUFFIX_BYTES)
    room = limit - _size(tail) - _size(suffix)
    if _size(stem) > room:
        stem = _cut(stem, room - len(ELLIPSIS)).rstrip(" .") + ELLIPSIS
    return (stem or "file") + tail + suffix


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem (2).suffix`` ... if that name is taken. Never overwrites.

    The name is made safe (:func:`p2e.names.safe_file_name`): cleaned, and short enough for any file system.
    """
    folder.mkdir(parents=True, exist_ok=True)
    candidate = folder / safe_file_name(stem, "", suffix)
    n = 2
    while candidate.exists():
        candidate = folder / safe_file_name(stem, f" ({n})", suffix)
        n += 1
    return candidate


def results_name(source_name: str, kind: str, when: datetime) -> str:
    """"<staff file's name> - <kind> <date time>", shortened if need be (the start and the date are kept)."""
    return safe_file_name(Path(source_name).stem, f" - {kind} {when.strftime('%Y-%m-%d %H%M')}", limit=STEM_BYTES)
