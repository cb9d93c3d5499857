"""File names the file system or mail refuse: derived names are shortened and cleaned, every file gets an answer."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from p2e.watch import Folders, watch
from tests.test_notify import smtp_server  # noqa: F401  (fixture)
from tests.test_watch import SYSTEMS, mail_settings, outbox, results_rows, staff_files, with_email_setting

LIMIT = 255  # bytes in one name on ext4, NTFS (in UTF-16 units, fewer), APFS, SMB


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


@pytest.mark.parametrize("stem, tail, suffix, expected", [
    ("UIU P2E clean-up", " - results 2026-11-28 1412", ".xlsx", "UIU P2E clean-up - results 2026-11-28 1412.xlsx"),
    ("UIU\nP2E\r\nclean-up", "", ".xlsx", "UIU P2E clean-up.xlsx"),
    (".hidden", " - rejected 2026-11-28 1412", ".xlsx", "hidden - rejected 2026-11-28 1412.xlsx"),
    ("a/b\\c:d", "", ".csv", "a_b_c_d.csv"),
])
def test_safe_file_name_cleans(stem, tail, suffix, expected):
    from p2e.names import safe_file_name

    assert safe_file_name(stem, tail, suffix) == expected


@pytest.mark.parametrize("stem", ["x" * 300, "é" * 200, "日本語の雑誌" * 40, "a" * 150 + "😀" * 40])
def test_safe_file_name_keeps_the_start_and_the_label_within_the_byte_limit(stem):
    from p2e.names import NAME_BYTES, safe_file_name

    when = datetime(2026, 11, 28, 14, 12)
    name = safe_file_name(stem, f" - processed {when:%Y-%m-%d %H%M}", ".xlsx")
    assert len(name.encode("utf-8")) <= NAME_BYTES <= 240
    assert name.endswith("... - processed 2026-11-28 1412.xlsx")
    assert name.startswith(stem[:20])
    name.encode("utf-8")  # no half character left at the cut
