"""The folders and the moves (p2e/watch/folders.py): claim, file away, never overwrite; names the
file system or mail refuse are made safe; a name starting with a dot is refused with a message."""
from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from p2e.watch import Folders, claim, file_away, watch
from tests.conftest import SYSTEMS, mail_settings, outbox, results_rows, staff_files, with_email_setting

LIMIT = 255  # bytes in one name on ext4, NTFS (in UTF-16 units, fewer), APFS, SMB


def test_claiming_and_filing_away_never_overwrite(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folders = Folders(inbox, inbox / "processing", inbox / "done", inbox / "rejected")
    folders.create()
    (folders.processing / "p2e.xlsx").write_bytes(b"paused one")
    (inbox / "p2e.xlsx").write_bytes(b"new one")
    claimed = claim(inbox / "p2e.xlsx", folders)
    assert claimed.name == "p2e (2).xlsx" and claimed.read_bytes() == b"new one"
    assert (folders.processing / "p2e.xlsx").read_bytes() == b"paused one"
    when = datetime(2026, 11, 28, 14, 12)
    first = file_away(folders.processing / "p2e.xlsx", folders.done, "processed", when)
    (folders.processing / "p2e.xlsx").write_bytes(b"again")
    second = file_away(folders.processing / "p2e.xlsx", folders.done, "processed", when)
    assert first.name == "p2e - processed 2026-11-28 1412.xlsx"
    assert second.name == "p2e - processed 2026-11-28 1412 (2).xlsx"
    assert first.read_bytes() == b"paused one" and second.read_bytes() == b"again"


def test_a_dot_file_claimed_beside_one_of_the_same_name_keeps_its_dot(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folders = Folders(inbox, inbox / "processing", inbox / "done", inbox / "rejected")
    folders.create()
    (folders.processing / ".p2e.xlsx").write_bytes(b"first")
    (inbox / ".p2e.xlsx").write_bytes(b"second")
    claimed = claim(inbox / ".p2e.xlsx", folders)
    assert claimed.name == ".p2e (2).xlsx" and claimed.read_bytes() == b"second"


def test_a_missing_inbox_is_a_plain_configuration_message(tmp_path, start_sandbox, settings_for):
    from p2e.config import ConfigError

    sb, _ = start_sandbox(rows=1)
    settings = settings_for(sb)
    shutil.rmtree(settings.inbox_dir)
    with pytest.raises(ConfigError, match="The inbox folder .* does not exist, or the shared drive holding it is not connected"):
        watch(settings, once=True)
    assert not Path(settings.inbox_dir).exists()  # not created on the local disk behind the share's back


def name_bytes(path: Path) -> int:
    return len(os.fsencode(path.name))


def every_file(folder: Path) -> list[Path]:
    return [p for p in Path(folder).rglob("*") if p.is_file()]


def test_a_very_long_file_name_is_processed_and_every_derived_name_is_short_enough(start_sandbox, settings_for,
                                                                                     workbook_for, smtp_server):
    sb, library = start_sandbox(rows=4, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port, poll_seconds=0.05)
    stem = "UIU P2E clean-up for the e-journal collections " + "é" * 60 + " x" * 40  # 247 bytes with .xlsx
    path = with_email_setting(workbook_for(library, stem + ".xlsx"))
    assert name_bytes(path) < LIMIT

    assert watch(settings, once=True, settle_seconds=0.05) == 0

    folders = Folders.of(settings)
    assert staff_files(folders.processing) == [] and staff_files(folders.inbox) == []
    [done] = staff_files(folders.done)
    assert done.startswith("UIU P2E clean-up for the e-journal collections é") and " - processed 20" in done
    [results] = outbox(settings, "results")
    assert results.name.startswith("UIU P2E clean-up for the e-journal") and results.name.endswith(".xlsx")
    assert {r["Result"] for r in results_rows(results)} == {"Done"}
    audit = every_file(Path(settings.outbox_dir) / "audit")
    assert len(audit) == 1 and audit[0].read_text(encoding="utf-8")
    for made in every_file(settings.outbox_dir) + every_file(folders.done):
        assert name_bytes(made) <= 200, made.name
    [message] = smtp_server.messages
    assert message["Subject"].startswith("P2E clean-up: UIU P2E clean-up for the e-journal collections é")
    assert message["Subject"].endswith("processed - 4 done")


def test_a_name_with_a_newline_is_processed_and_emailed_with_a_clean_subject(start_sandbox, settings_for,
                                                                            workbook_for, smtp_server):
    sb, library = start_sandbox(rows=3, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port)
    with_email_setting(workbook_for(library, "UIU P2E\nclean-up\t2.xlsx"))

    assert watch(settings, once=True, settle_seconds=0.05) == 0

    [message] = smtp_server.messages
    assert message["Subject"] == "P2E clean-up: UIU P2E clean-up 2.xlsx processed - 3 done"
    assert smtp_server.recipients[0][-1] == SYSTEMS
    folders = Folders.of(settings)
    [done] = staff_files(folders.done)
    assert done.startswith("UIU P2E clean-up 2 - processed ")
    for made in every_file(settings.outbox_dir) + every_file(folders.done):
        assert not any(ord(c) < 32 for c in made.name), repr(made.name)


def test_a_file_whose_name_starts_with_a_dot_is_refused_with_a_message_not_ignored(start_sandbox, settings_for,
                                                                                  workbook_for, smtp_server):
    sb, library = start_sandbox(rows=3, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port)
    workbook_for(library, ".UIU P2E clean-up.xlsx")
    inbox = Path(settings.inbox_dir)
    (inbox / "._UIU P2E clean-up.xlsx").write_bytes(b"\0\5\26\7 macOS resource fork")  # not staff files:
    (inbox / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")                                  # left alone
    before = sb.state()

    assert watch(settings, once=True, settle_seconds=0.05) == 2

    assert sb.state() == before  # nothing was sent to Alma
    folders = Folders.of(settings)
    assert staff_files(inbox) == [".DS_Store", "._UIU P2E clean-up.xlsx"]
    [moved] = staff_files(folders.rejected)
    assert moved.startswith("UIU P2E clean-up - rejected ")  # visible again
    [rejection] = outbox(settings, "REJECTED")
    assert rejection.name.startswith("UIU P2E clean-up - REJECTED ")
    [message] = smtp_server.messages
    assert message["Subject"] == "P2E clean-up: .UIU P2E clean-up.xlsx was not processed - 1 problem to fix"
    body = message.get_body(("plain",)).get_content()
    assert "starts with a dot" in body and "Rename it" in body
