"""Which files in the inbox are staff files (p2e/watch/ignore.py): the rest is never moved or answered."""
from __future__ import annotations

from pathlib import Path

import pytest

from p2e.watch import LOCK_NAME, Folders, ignore_reason, watch
from tests.conftest import mail_settings, staff_files


def test_lock_and_temporary_files_are_ignored_and_never_moved(start_sandbox, settings_for, smtp_server):
    sb, library = start_sandbox(rows=3)
    settings = mail_settings(settings_for, sb, smtp_server.port)
    inbox = Path(settings.inbox_dir)
    names = ["~$x.xlsx", ".~lock.budget.xlsx#", "~WRL0001.tmp", ".DS_Store", "desktop.ini", "6E2F1A00",
             "._budget.xlsx", ".budget.xlsx.Xy12Ab", ".nfs000000000123", "copying.xlsx.part"]
    for name in names:
        (inbox / name).write_bytes(b"not a workbook")
    before = sb.state()

    assert watch(settings, once=True, settle_seconds=0.05) == 0

    assert staff_files(inbox) == sorted(names)
    folders = Folders.of(settings)
    assert staff_files(folders.processing) == staff_files(folders.done) == staff_files(folders.rejected) == []
    assert list(Path(settings.outbox_dir).glob("*.xlsx")) == []
    assert smtp_server.messages == [] and sb.state() == before


@pytest.mark.parametrize("name, reason", [
    ("~$p2e.xlsx", "an Excel lock file"), (".~lock.p2e.xlsx#", "a LibreOffice lock file"),
    (".hidden.xlsx", None), ("._p2e.xlsx", "a hidden or system file"), ("Thumbs.db", "a hidden or system file"),
    (LOCK_NAME, "a hidden or system file"), (".p2e.csv.a1B2c3", "a hidden or system file"),
    ("~WRL0005.tmp", "a temporary file"), ("A1B2C3D4", "a temporary file"), ("p2e.xlsx.crdownload", "a temporary file"),
    ("p2e.xlsx", None), ("p2e.csv", None), ("p2e.xls", None), ("p2e.numbers", None), ("notes.txt", None),
])
def test_which_names_are_staff_files(name, reason):
    assert ignore_reason(Path(name)) == reason
