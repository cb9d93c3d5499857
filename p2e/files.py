"""Writing a small file so that no reader ever sees half of it: a temporary file, then one rename.

Used for every small file the processor rewrites in place: the backups, the status files in the
outbox, the inbox's memory, the restore ledger, the waiting notices.

>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "state" / "seen.json"
>>> write_atomic(path, "{}")
>>> path.read_text()
'{}'
"""
from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` to ``path`` whole or not at all (``durable``: on disk, fsynced, before the rename).

    The temporary file is hidden (a leading dot) and carries the process ID, so staff do not see it in a
    shared folder and two processes never write the same one. Raises OSError like ``open``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        if temp.exists():
            temp.unlink()
