"""Where a staff file is during its life, and the moves between those folders (each one rename).

    INBOX_DIR/p2e.xlsx                                       dropped by staff
    INBOX_DIR/processing/p2e.xlsx                            claimed (:func:`claim`); processed from here
    INBOX_DIR/done/p2e - processed 2026-11-28 1412.xlsx      filed away (:func:`file_away`)
    INBOX_DIR/rejected/p2e - rejected 2026-11-28 1412.xlsx   filed away when it could not be processed

Nothing is overwritten and no staff file is ever deleted. A file whose name starts with a dot is
refused with a message (:func:`hidden_name_rejection`), not processed.

>>> [folder.name for folder in (Folders.of_inbox(Path("inbox")).processing, Folders.of_inbox(Path("inbox")).done)]
['processing', 'done']
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..config import ConfigError, Settings
from ..model import Problem
from ..names import STEM_BYTES, safe_file_name
from ..pipeline import FileOutcome, reject
from ..names import unique_path


class InboxMissing(ConfigError):
    """INBOX_DIR is not there: a wrong setting, or a shared drive that is not connected (yet)."""


@dataclass
class Folders:
    """Where a staff file is during its life. All inside the inbox, so every move is one rename."""

    inbox: Path
    processing: Path
    done: Path
    rejected: Path

    @classmethod
    def of(cls, settings: Settings) -> "Folders":
        return cls.of_inbox(Path(settings.inbox_dir))

    @classmethod
    def of_inbox(cls, inbox: Path) -> "Folders":
        return cls(inbox, inbox / "processing", inbox / "done", inbox / "rejected")

    def create(self) -> None:
        for folder in (self.processing, self.done, self.rejected):
            folder.mkdir(exist_ok=True)

    def prepare(self, outbox: Path) -> None:
        """Check that the inbox is there and is not the outbox, then create the folders inside it.

        Raises :class:`InboxMissing` (the inbox is never created: it may be a share not connected
        yet) or :class:`~p2e.config.ConfigError`.
        """
        inbox = self.inbox
        if not inbox.is_dir():
            raise InboxMissing(f"The inbox folder {inbox} does not exist, or the shared drive holding it is not "
                              "connected. Check INBOX_DIR in the settings (and that the drive is mapped or mounted).")
        if Path(outbox).resolve() == inbox.resolve():
            raise ConfigError("INBOX_DIR and OUTBOX_DIR are the same folder; the results would be taken for new "
                              "files. Give the outbox its own folder.")
        self.create()
        Path(outbox).mkdir(parents=True, exist_ok=True)


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

