"""The drop folder end to end (p2e/watch/watcher.py): temporary inbox and outbox, the Alma sandbox, a real SMTP server.

Every test asserts what staff and Alma would see: where the file went, what is in the outbox,
what arrived by email, and what the sandbox holds.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import openpyxl

from p2e.watch import Folders, watch
from tests.conftest import (STAFF, SYSTEMS, free_port, mail_settings, outbox, results_rows, staff_files,
                            start_smtp, wait_until, with_email_setting)
from tests.watch.conftest import assert_alma_matches, watcher_thread


def test_a_dropped_file_comes_back_as_results_and_an_email(start_sandbox, settings_for, workbook_for, smtp_server):
    sb, library = start_sandbox(rows=12)
    settings = mail_settings(settings_for, sb, smtp_server.port)
    with_email_setting(workbook_for(library, "UIU P2E clean-up.xlsx"))

    assert watch(settings, once=True, settle_seconds=0.1) == 0

    folders = Folders.of(settings)
    assert staff_files(folders.inbox) == [] and staff_files(folders.processing) == []
    [done] = staff_files(folders.done)
    assert done.startswith("UIU P2E clean-up - processed ") and done.endswith(".xlsx")
    [results] = outbox(settings, "results")
    assert results.name.startswith("UIU P2E clean-up - results ")
    assert_alma_matches(sb, library, results_rows(results))
    assert not list(Path(settings.outbox_dir).glob("*IN PROGRESS*"))

    [message] = smtp_server.messages
    assert smtp_server.recipients[0] == [STAFF, SYSTEMS]
    assert message["Subject"].startswith("P2E clean-up: UIU P2E clean-up.xlsx processed - ")
    body = message.get_body(("plain",)).get_content()
    assert f"Your file is now: {folders.done / done}" in body
    assert results.name in body
    name, workbook = smtp_server.attachment()
    assert name == results.name
    assert [r[1] for r in workbook["Results"].iter_rows(values_only=True)][0] is not None
    assert len(list(workbook["Results"].iter_rows())) == len(library.rows) + 1


def test_the_watcher_handles_several_files_in_arrival_order(start_sandbox, settings_for, workbook_for, smtp_server):
    sb, library = start_sandbox(rows=4, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port)
    source = workbook_for(library, "source.xlsx")
    data = source.read_bytes()
    source.unlink()
    with watcher_thread(settings, settle_seconds=0.1):
        for name in ("zebra.xlsx", "apple.xlsx", "mango.xlsx"):  # arrival order is not name order
            (Path(settings.inbox_dir) / name).write_bytes(data)
            time.sleep(0.01)
        wait_until(lambda: len(smtp_server.messages) == 3)
    subjects = [m["Subject"].split()[2] for m in smtp_server.messages]
    assert subjects == ["zebra.xlsx", "apple.xlsx", "mango.xlsx"]
    assert len(staff_files(Folders.of(settings).done)) == 3


def test_files_of_other_types_are_rejected_with_a_message_not_ignored(start_sandbox, settings_for, smtp_server):
    sb, library = start_sandbox(rows=3)
    settings = mail_settings(settings_for, sb, smtp_server.port)
    inbox = Path(settings.inbox_dir)
    (inbox / "old export.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    (inbox / "list.numbers").write_bytes(b"PK\x03\x04 not really")
    (inbox / "notes.txt").write_text("please delete these\n")

    assert watch(settings, once=True, settle_seconds=0.05) == 2

    rejected = staff_files(Folders.of(settings).rejected)
    assert [n.split(" - rejected ")[0] for n in rejected] == ["list", "notes", "old export"]
    assert staff_files(inbox) == []
    assert len(outbox(settings, "REJECTED")) == 3
    bodies = {m["Subject"]: m.get_body(("plain",)).get_content() for m in smtp_server.messages}
    xls = next(b for s, b in bodies.items() if "old export.xls" in s)
    assert "choose File > Save As, pick 'Excel Workbook (.xlsx)'" in xls
    numbers = next(b for s, b in bodies.items() if "list.numbers" in s)
    assert "Export To > Excel" in numbers
    assert any("notes.txt was not processed" in s for s in bodies)


def test_a_rejected_file_gets_a_rejection_workbook_an_email_and_goes_to_rejected(start_sandbox, settings_for,
                                                                                  smtp_server):
    sb, library = start_sandbox(rows=3)
    settings = mail_settings(settings_for, sb, smtp_server.port)
    path = Path(settings.inbox_dir) / "Spring clean-up.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "P2E"
    wb.active.append(["Title", "Action", None, "Notes"])
    wb.active.append(["Journal of Things", "delete", None, "dup"])
    wb.create_sheet("Settings").append(["Email results to", STAFF])
    wb.save(path)
    before = sb.state()

    assert watch(settings, once=True, settle_seconds=0.05) == 2

    folders = Folders.of(settings)
    [moved] = staff_files(folders.rejected)
    assert moved.startswith("Spring clean-up - rejected ") and moved.endswith(".xlsx")
    [rejection] = outbox(settings, "REJECTED")
    assert rejection.name.startswith("Spring clean-up - REJECTED ")
    assert sb.state() == before  # nothing was sent to Alma
    [message] = smtp_server.messages
    assert smtp_server.recipients[0] == [STAFF, SYSTEMS]
    assert message["Subject"].startswith("P2E clean-up: Spring clean-up.xlsx was not processed - ")
    body = message.get_body(("plain",)).get_content()
    assert "Columns found: A (Title), B (Action), D (Notes)" in body
    assert f"Your file is now: {folders.rejected / moved}" in body
    name, workbook = smtp_server.attachment()
    assert name == rejection.name
    text = " ".join(str(v) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "Columns found" in text


def test_with_the_mail_server_down_processing_completes_and_the_mail_goes_later(start_sandbox, settings_for,
                                                                                workbook_for):
    sb, library = start_sandbox(rows=6)
    port = free_port()  # nothing listens there yet
    settings = mail_settings(settings_for, sb, port)
    workbook_for(library)

    assert watch(settings, once=True, settle_seconds=0.05) == 0

    folders = Folders.of(settings)
    assert len(staff_files(folders.done)) == 1
    [results] = outbox(settings, "results")
    assert_alma_matches(sb, library, results_rows(results))
    queue = Path(settings.state_dir) / "mail-queue"
    assert len(list(queue.glob("*.eml"))) == 1

    controller, mailbox = start_smtp(port)
    try:
        assert watch(settings, once=True, settle_seconds=0.05) == 0  # nothing new in the inbox: just the mail
    finally:
        controller.stop()
    assert list(queue.glob("*.eml")) == []
    [message] = mailbox.messages
    assert message["Subject"].startswith("P2E clean-up: UIU P2E clean-up.xlsx processed - ")
    assert mailbox.attachment()[0] == results.name


def test_the_long_running_watcher_waits_for_a_share_that_is_not_connected_yet(start_sandbox, settings_for, caplog):
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=2, mix="delete-only")
    settings = settings_for(sb, poll_seconds=0.1)
    shutil.rmtree(settings.inbox_dir)
    caplog.set_level(logging.INFO, logger="p2e.watch")
    with watcher_thread(settings):
        wait_until(lambda: "The watcher looks again every 0.1 seconds." in caplog.text)
        staging = Path(settings.state_dir) / "share"
        staging.mkdir()
        write_workbook(library, staging / "p2e.xlsx")
        os.replace(staging, settings.inbox_dir)  # the drive is connected, with a file already in it
        wait_until(lambda: outbox(settings, "results"))
    assert "is there now" in caplog.text
