"""The inbox's stability rules (p2e/watch/inbox.py): a file is taken only once unchanged, closed and whole."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import openpyxl
import pytest

from p2e.watch import Folders, Inbox, lock_files_for, watch
from tests.conftest import mail_settings, outbox, results_rows, staff_files, wait_until
from tests.watch.conftest import assert_alma_matches, watcher_thread


def test_a_file_still_being_copied_is_not_picked_up_until_it_is_stable(start_sandbox, settings_for, tmp_path,
                                                                       smtp_server):
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=8)
    settings = mail_settings(settings_for, sb, smtp_server.port, poll_seconds=0.15)
    data = write_workbook(library, tmp_path / "source.xlsx").read_bytes()
    target = Path(settings.inbox_dir) / "slow copy.xlsx"
    chunks = [data[i:i + len(data) // 12 + 1] for i in range(0, len(data), len(data) // 12 + 1)]
    finished = {}

    def slow_copy():  # appends a piece every 0.05 s for about 0.6 s: four polls see it growing
        for chunk in chunks:
            with open(target, "ab") as handle:
                handle.write(chunk)
            time.sleep(0.05)
        finished["at"] = time.monotonic()

    with watcher_thread(settings, settle_seconds=0.1):
        writer = threading.Thread(target=slow_copy)
        writer.start()
        writer.join()
        [done] = wait_until(lambda: staff_files(Folders.of(settings).done))
    folders = Folders.of(settings)
    assert (folders.done / done).read_bytes() == data  # the whole file was processed, not a piece of it
    assert staff_files(folders.inbox) == [] and staff_files(folders.rejected) == []
    assert_alma_matches(sb, library, results_rows(outbox(settings, "results")[0]))


def test_a_csv_written_slowly_is_not_processed_half_written(start_sandbox, settings_for, tmp_path):
    """A half-written CSV is still a valid CSV: only the stable-size rule keeps it from running early."""
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=10, mix="delete-only")
    settings = settings_for(sb, poll_seconds=0.15)
    wb = openpyxl.load_workbook(write_workbook(library, tmp_path / "source.xlsx"), read_only=True)
    lines = [",".join("" if v is None else str(v) for v in row) for row in wb.active.iter_rows(values_only=True)]
    wb.close()
    target = Path(settings.inbox_dir) / "p2e.csv"
    with watcher_thread(settings, settle_seconds=0.1):
        for line in lines:  # one line every 0.06 s: about five polls
            with open(target, "a", encoding="utf-8", newline="") as handle:
                handle.write(line + "\r\n")
            time.sleep(0.06)
        wait_until(lambda: outbox(settings, "results"))
    rows = results_rows(outbox(settings, "results")[0])
    assert len(rows) == len(library.rows)
    assert {r["Result"] for r in rows} == {"Done"}


def test_a_workbook_open_in_excel_waits_until_it_is_closed(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=3)
    settings = settings_for(sb)
    workbook = workbook_for(library, "UIU P2E clean-up.xlsx")
    excel_lock = workbook.with_name("~$U P2E clean-up.xlsx")  # Excel's owner file for a long name
    excel_lock.write_bytes(b"\x0bcataloguer")

    watch(settings, once=True, settle_seconds=0.05)
    assert workbook.exists() and outbox(settings, "results") == []

    excel_lock.unlink()  # Excel closed
    watch(settings, once=True, settle_seconds=0.05)
    assert not workbook.exists() and len(outbox(settings, "results")) == 1


def test_excel_and_libreoffice_lock_names_for_a_workbook():
    names = {p.name for p in lock_files_for(Path("inbox/UIU P2E clean-up.xlsx"))}
    assert names == {"~$UIU P2E clean-up.xlsx", "~$U P2E clean-up.xlsx", ".~lock.UIU P2E clean-up.xlsx#"}


def test_a_file_is_ready_only_after_two_looks_with_the_same_size_and_time(tmp_path):
    inbox = Inbox(tmp_path, incomplete_grace=0)
    path = tmp_path / "p2e.csv"
    path.write_text("MMS ID,Action\n")
    assert inbox.look() == []
    with open(path, "a") as handle:
        handle.write("991234567890123,delete\n")
    assert inbox.look() == []
    assert inbox.look() == [path]


def _csv_lines(library, tmp_path) -> list[str]:
    from p2e.sandbox import write_workbook

    wb = openpyxl.load_workbook(write_workbook(library, tmp_path / "source.xlsx"), read_only=True)
    lines = [",".join("" if v is None else str(v) for v in row) for row in wb.active.iter_rows(values_only=True)]
    wb.close()
    return lines


def test_a_csv_copy_that_stalls_longer_than_the_settle_time_is_not_processed_half_written(
        start_sandbox, settings_for, tmp_path):
    """The copy pauses mid-line for several polls (a slow share): the file looks stable but is not whole."""
    sb, library = start_sandbox(rows=12, mix="delete-only")
    settings = settings_for(sb, poll_seconds=0.2)
    data = ("\r\n".join(_csv_lines(library, tmp_path)) + "\r\n").encode()
    cut = data.index(b"\r\n", len(data) // 2) - 5  # in the middle of a row's MMS ID
    target = Path(settings.inbox_dir) / "p2e.csv"
    with watcher_thread(settings):
        with open(target, "wb") as handle:
            handle.write(data[:cut])
        time.sleep(1.5)  # stalled for seven polls, much longer than the settle time
        with open(target, "ab") as handle:
            handle.write(data[cut:])
        [done] = wait_until(lambda: staff_files(Folders.of(settings).done), timeout=30)
    folders = Folders.of(settings)
    assert (folders.done / done).read_bytes() == data  # the whole file, not the first half
    assert staff_files(folders.rejected) == []
    rows = results_rows(outbox(settings, "results")[0])
    assert len(rows) == len(library.rows) and {r["Result"] for r in rows} == {"Done"}


def test_watch_once_notes_a_new_file_and_a_later_run_takes_it_when_unchanged(start_sandbox, settings_for,
                                                                             workbook_for):
    sb, library = start_sandbox(rows=3, mix="delete-only")
    settings = settings_for(sb, poll_seconds=2.5)
    workbook = workbook_for(library)

    assert watch(settings, once=True) == 0  # sees it for the first time: only notes it
    assert workbook.exists() and outbox(settings, "results") == []
    remembered = json.loads((Path(settings.state_dir) / "inbox-seen.json").read_text())
    assert remembered[workbook.name]["size"] == workbook.stat().st_size

    time.sleep(2.6)  # the next run comes more than POLL_SECONDS after the first look
    assert watch(settings, once=True) == 0
    assert not workbook.exists() and len(outbox(settings, "results")) == 1
    assert staff_files(Folders.of(settings).done)[0].startswith("UIU P2E clean-up - processed ")


def test_a_file_is_ready_only_when_unchanged_across_looks_the_settle_time_apart_even_across_runs(tmp_path):
    memory = tmp_path / "state" / "inbox-seen.json"
    inbox = Inbox(tmp_path, settle=0.3, incomplete_grace=60, memory=memory)
    path = tmp_path / "p2e.csv"
    path.write_text("MMS ID,Action\n991234567890123,delete\n")
    assert inbox.look() == []
    assert inbox.look() == []  # unchanged, but not yet for the settle time
    time.sleep(0.35)
    with open(path, "a") as handle:
        handle.write("991234567890124,delete\n")  # changed: starts again
    assert inbox.look() == []
    time.sleep(0.35)
    later = Inbox(tmp_path, settle=0.3, incomplete_grace=60, memory=memory)  # the next `watch --once`
    assert later.look() == [path]


@pytest.mark.parametrize("name, content", [
    ("p2e.csv", b"MMS ID,Action\r\n99123456789012"),            # stops mid-line
    ("p2e.xlsx", b"PK\x03\x04" + b"\0" * 200),                  # a zip without its central directory
])
def test_a_file_that_is_not_structurally_whole_waits_for_the_grace_time(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    inbox = Inbox(tmp_path, settle=0, incomplete_grace=0.4)
    assert inbox.look() == [] and inbox.look() == []
    time.sleep(0.45)  # still not whole after the grace time: handed on, to be rejected with a message
    assert inbox.look() == [path]
