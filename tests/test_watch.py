"""The drop folder end to end: temporary inbox and outbox, the Alma sandbox, a real SMTP server.

Every test asserts what staff and Alma would see: where the file went, what is in the outbox,
what arrived by email, and what the sandbox holds.
"""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

from p2e.journal import PAUSED, Journal
from p2e.pipeline import process_file
from p2e.watch import (EXIT_ANOTHER_WATCHER, LOCK_NAME, Folders, Inbox, WatcherLock, claim, file_away,
                       ignore_reason, lock_files_for, watch)
from tests.test_notify import free_port, smtp_server, start_smtp  # noqa: F401  (fixture)

STAFF = "cataloguing@library.example.edu"
SYSTEMS = "systems@library.example.edu"


# -- helpers ----------------------------------------------------------------------------------

def wait_until(condition, timeout: float = 15.0, every: float = 0.02):
    """Poll ``condition`` until it is true (returns its value) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {condition}")


def mail_settings(settings_for, sb, port: int, **overrides):
    values = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", mail_from="p2e@library.example.edu",
                  mail_to=[SYSTEMS], poll_seconds=0.2)
    values.update(overrides)
    return settings_for(sb, **values)


def with_email_setting(path: Path, address: str = STAFF) -> Path:
    """Add the template's Settings sheet ("Email results to") to a generated workbook."""
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Settings")
    ws.append(["Email results to", address])
    wb.save(path)
    return path


def results_rows(path: Path, sheet: str = "Results") -> list[dict]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def staff_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def outbox(settings, kind: str) -> list[Path]:
    return sorted(Path(settings.outbox_dir).glob(f"* - {kind} *.xlsx"))


def assert_alma_matches(sb, library, rows: list[dict]) -> None:
    state = sb.state()
    assert len(rows) == len(library.rows)
    for expected, got in zip(library.rows, rows):
        assert got["Result"] == expected["expected_outcome"], (expected["scenario"], got["Details"])
        assert (expected["portfolio_id"] in state["portfolios"]) == (got["Result"] != "Done")


def lock_holder(lock: Path) -> dict:
    """The lock file's content, once its holder has written it."""
    def read():
        try:
            return json.loads(lock.read_text())
        except (OSError, ValueError):
            return None
    return wait_until(read)


@contextmanager
def watcher_thread(settings, **options):
    """The long-running watcher (``processor.py watch``) in a thread; stopped and joined on exit."""
    stop = threading.Event()
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", watch(settings, stop=stop, **options)),
                              daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive()


# -- a file dropped ---------------------------------------------------------------------------

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


# -- what is not a staff file -----------------------------------------------------------------

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


# -- a rejected file --------------------------------------------------------------------------

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


# -- one watcher per inbox --------------------------------------------------------------------

def test_a_second_watcher_is_refused_then_takes_over_when_the_first_stops(start_sandbox, settings_for, workbook_for,
                                                                          caplog):
    sb, library = start_sandbox(rows=3, mix="delete-only")
    settings = settings_for(sb, poll_seconds=0.1)
    lock = Path(settings.inbox_dir) / LOCK_NAME
    caplog.set_level(logging.INFO, logger="p2e.watch")
    with watcher_thread(settings) as first:
        holder = lock_holder(lock)
        assert holder["host"] == socket.gethostname() and holder["pid"] == os.getpid()

        workbook = workbook_for(library, "dropped meanwhile.xlsx")
        wait_until(lambda: not workbook.exists())  # the first watcher works normally
        assert watch(settings, once=True, settle_seconds=0.05) == EXIT_ANOTHER_WATCHER
        started = datetime.fromisoformat(holder["started"]).astimezone()
        assert (f"Another watcher (host {socket.gethostname()}, process {os.getpid()}, started {started:%H:%M}) "
                "is already watching this inbox; this run leaves everything to it and exits.") in caplog.text

        with watcher_thread(settings) as second:
            wait_until(lambda: "is already watching this inbox; this one will wait." in caplog.text)
            assert json.loads(lock.read_text())["token"] == holder["token"]  # the lock stays with the first
        assert second["code"] == 0
    assert first["code"] == 0
    assert not lock.exists()  # released on a clean stop


def test_the_waiting_watcher_takes_over_when_the_first_one_stops(start_sandbox, settings_for, workbook_for, caplog):
    sb, library = start_sandbox(rows=3, mix="delete-only")
    settings = settings_for(sb, poll_seconds=0.1)
    lock = Path(settings.inbox_dir) / LOCK_NAME
    caplog.set_level(logging.INFO, logger="p2e.watch")
    first_stop = threading.Event()
    first = threading.Thread(target=watch, args=(settings,), kwargs={"stop": first_stop}, daemon=True)
    first.start()
    first_token = lock_holder(lock)["token"]
    with watcher_thread(settings):
        wait_until(lambda: "this one will wait" in caplog.text)
        first_stop.set()
        first.join(10)
        wait_until(lambda: lock_holder(lock)["token"] != first_token)
        workbook = workbook_for(library, "after the handover.xlsx")
        wait_until(lambda: outbox(settings, "results"))
    assert not workbook.exists()
    assert staff_files(Folders.of(settings).done)[0].startswith("after the handover - processed ")


def test_a_lock_from_another_machine_holds_until_its_heartbeat_is_stale(start_sandbox, settings_for, workbook_for,
                                                                        caplog):
    sb, library = start_sandbox(rows=3, mix="delete-only")
    settings = settings_for(sb)
    workbook = workbook_for(library)
    lock = Path(settings.inbox_dir) / LOCK_NAME
    started = datetime.now(timezone.utc).replace(hour=9, minute=14, second=0, microsecond=0)
    other = {"host": "lib-srv-2", "pid": 4242, "started": started.isoformat(),
             "heartbeat": datetime.now(timezone.utc).isoformat(), "token": "their-token"}
    lock.write_text(json.dumps(other))
    caplog.set_level(logging.INFO, logger="p2e.watch")

    assert watch(settings, once=True, settle_seconds=0.05, lock_stale_after=60) == EXIT_ANOTHER_WATCHER
    assert f"Another watcher (host lib-srv-2, process 4242, started {started.astimezone():%H:%M}" in caplog.text
    assert workbook.exists() and json.loads(lock.read_text())["token"] == "their-token"

    stale = datetime.now(timezone.utc) - timedelta(minutes=5)
    lock.write_text(json.dumps({**other, "heartbeat": stale.isoformat()}))
    os.utime(lock, (stale.timestamp(), stale.timestamp()))
    assert watch(settings, once=True, settle_seconds=0.05, lock_stale_after=60) == 0
    assert "Took over the watcher lock of host lib-srv-2" in caplog.text
    assert not workbook.exists() and len(outbox(settings, "results")) == 1
    assert not lock.exists()


def test_a_lock_left_by_a_dead_process_on_this_machine_is_taken_over_at_once(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dead = _a_dead_pid()
    (inbox / LOCK_NAME).write_text(json.dumps({"host": socket.gethostname(), "pid": dead,
                                               "started": "2026-01-01T00:00:00+00:00",
                                               "heartbeat": datetime.now(timezone.utc).isoformat(), "token": "t"}))
    lock = WatcherLock(inbox, stale_after=3600)
    assert lock.acquire() is True
    assert json.loads((inbox / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()


def test_the_heartbeat_keeps_the_lock_fresh_and_notices_when_it_is_taken(tmp_path):
    lock = WatcherLock(tmp_path, stale_after=1.0)
    assert lock.acquire()
    first = json.loads(lock.path.read_text())["heartbeat"]
    os.utime(lock.path, (time.time() - 5, time.time() - 5))
    lost = threading.Event()
    lock.on_lost = lost.set
    lock.start_heartbeat(0.05)
    wait_until(lambda: time.time() - lock.path.stat().st_mtime < 1.0)
    assert WatcherLock(tmp_path, stale_after=1.0).acquire() is False  # fresh again: not stale
    assert json.loads(lock.path.read_text())["heartbeat"] >= first
    lock.path.write_text(json.dumps({**json.loads(lock.path.read_text()), "token": "someone else"}))
    wait_until(lost.is_set)
    assert lock.lost.is_set() and not lock.held
    lock.release()
    assert json.loads(lock.path.read_text())["token"] == "someone else"  # not ours to remove


def test_a_lock_file_deleted_by_hand_is_written_again_by_its_holder(tmp_path):
    lock = WatcherLock(tmp_path, stale_after=10)
    assert lock.acquire()
    lock.path.unlink()
    assert lock.refresh() is True
    assert json.loads(lock.path.read_text())["token"] == lock.token and lock.held
    lock.release()
    assert not lock.path.exists()


def _a_dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- files left in processing -----------------------------------------------------------------

def test_a_file_left_in_processing_by_a_crash_is_finished_on_start(start_sandbox, settings_for, smtp_server):
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=30, mix="delete-only", latency_ms=15)
    settings = mail_settings(settings_for, sb, smtp_server.port, workers=1)
    folders = Folders.of(settings)
    folders.processing.mkdir(parents=True)
    path = write_workbook(library, folders.processing / "UIU P2E clean-up.xlsx")
    stop = threading.Event()
    threading.Timer(0.4, stop.set).start()  # the "crash": the run is cut short part-way
    cut = process_file(path, settings, stop=stop, stream=None)
    assert cut.status == "stopped"
    first_rows = results_rows(cut.results_path)
    done_before = [r for r in first_rows if r["Result"] == "Done"]
    assert done_before and len(done_before) < len(library.rows)
    journal = Journal(Path(settings.state_dir) / "journal.sqlite3")
    assert [r.status for r in journal.unfinished_runs()] == ["running"]
    journal.close()
    deletes_before = len([r for r in sb.requests if r["method"] == "DELETE"])

    assert watch(settings, once=True, settle_seconds=0.05) == 0

    assert staff_files(folders.processing) == []
    assert staff_files(folders.done)[0].startswith("UIU P2E clean-up - processed ")
    final = max(outbox(settings, "results"), key=lambda p: p.stat().st_mtime)
    rows = results_rows(final)
    assert {r["Result"] for r in rows} == {"Done"}
    assert_alma_matches(sb, library, rows)
    deletes_after = len([r for r in sb.requests if r["method"] == "DELETE"])
    assert deletes_after - deletes_before == len(library.rows) - len(done_before)  # finished rows not redone
    journal = Journal(Path(settings.state_dir) / "journal.sqlite3")
    assert journal.unfinished_runs() == []
    journal.close()
    assert smtp_server.messages[-1]["Subject"].startswith("P2E clean-up: UIU P2E clean-up.xlsx processed - 30 done")


def test_a_run_paused_on_the_daily_allowance_waits_in_processing_and_resumes_after(start_sandbox, settings_for,
                                                                                  workbook_for, smtp_server):
    sb, library = start_sandbox(rows=40, mix="delete-only", daily_limit=5000)
    settings = mail_settings(settings_for, sb, smtp_server.port, daily_reserve=5000 - 40)
    workbook_for(library, "big file.xlsx")
    folders = Folders.of(settings)

    assert watch(settings, once=True, settle_seconds=0.05) == 1
    assert staff_files(folders.processing) == ["big file.xlsx"] and staff_files(folders.done) == []
    [paused_mail] = smtp_server.messages
    assert paused_mail["Subject"].startswith("P2E clean-up: big file.xlsx paused for today - ")
    assert "the rest runs automatically after" in paused_mail.get_body(("plain",)).get_content()

    # Before resume_after: the watcher leaves it alone (no new calls to Alma).
    calls = len(sb.requests)
    assert watch(settings, once=True, settle_seconds=0.05) == 0
    assert len(sb.requests) == calls and staff_files(folders.processing) == ["big file.xlsx"]

    # After resume_after (and Alma's allowance is back), it finishes by itself.
    journal = Journal(Path(settings.state_dir) / "journal.sqlite3")
    [run] = journal.unfinished_runs()
    assert run.status == PAUSED
    journal.set_status(run.run_id, PAUSED, (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat())
    journal.close()
    sb.set_options(daily_limit=1_000_000)
    settings.daily_reserve = 5000
    assert watch(settings, once=True, settle_seconds=0.05) == 0
    assert staff_files(folders.processing) == []
    assert staff_files(folders.done)[0].startswith("big file - processed ")
    final = max(outbox(settings, "results"), key=lambda p: p.stat().st_mtime)
    assert {r["Result"] for r in results_rows(final)} == {"Done"}
    assert smtp_server.messages[-1]["Subject"] == "P2E clean-up: big file.xlsx processed - 40 done"


# -- mail server down -------------------------------------------------------------------------

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


# -- small pieces -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, reason", [
    ("~$p2e.xlsx", "an Excel lock file"), (".~lock.p2e.xlsx#", "a LibreOffice lock file"),
    (".hidden.xlsx", None), ("._p2e.xlsx", "a hidden or system file"), ("Thumbs.db", "a hidden or system file"),
    (LOCK_NAME, "a hidden or system file"), (".p2e.csv.a1B2c3", "a hidden or system file"),
    ("~WRL0005.tmp", "a temporary file"), ("A1B2C3D4", "a temporary file"), ("p2e.xlsx.crdownload", "a temporary file"),
    ("p2e.xlsx", None), ("p2e.csv", None), ("p2e.xls", None), ("p2e.numbers", None), ("notes.txt", None),
])
def test_which_names_are_staff_files(name, reason):
    assert ignore_reason(Path(name)) == reason


def test_excel_and_libreoffice_lock_names_for_a_workbook():
    names = {p.name for p in lock_files_for(Path("inbox/UIU P2E clean-up.xlsx"))}
    assert names == {"~$UIU P2E clean-up.xlsx", "~$U P2E clean-up.xlsx", ".~lock.UIU P2E clean-up.xlsx#"}


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


def test_a_file_is_ready_only_after_two_looks_with_the_same_size_and_time(tmp_path):
    inbox = Inbox(tmp_path, incomplete_grace=0)
    path = tmp_path / "p2e.csv"
    path.write_text("MMS ID,Action\n")
    assert inbox.look() == []
    with open(path, "a") as handle:
        handle.write("991234567890123,delete\n")
    assert inbox.look() == []
    assert inbox.look() == [path]


def test_a_missing_inbox_is_a_plain_configuration_message(tmp_path, start_sandbox, settings_for):
    from p2e.config import ConfigError

    sb, _ = start_sandbox(rows=1)
    settings = settings_for(sb)
    shutil.rmtree(settings.inbox_dir)
    with pytest.raises(ConfigError, match="The inbox folder .* does not exist, or the shared drive holding it is not connected"):
        watch(settings, once=True)
    assert not Path(settings.inbox_dir).exists()  # not created on the local disk behind the share's back


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


# -- fencing: a watcher must prove it holds the lock before each row and write ------------------

def test_the_fence_passes_while_the_lock_is_ours_and_raises_once_another_watcher_holds_it(tmp_path):
    from p2e.errors import LockLost, ProcessorError

    lock = WatcherLock(tmp_path, stale_after=60)
    assert lock.acquire()
    lock.fence()  # ours: passes
    lock._beat_at -= 3600  # as if this process had been frozen for an hour: the fence beats first
    lock.fence()
    assert datetime.fromisoformat(json.loads(lock.path.read_text())["heartbeat"]) > \
        datetime.now(timezone.utc) - timedelta(minutes=1)
    lock.path.write_text(json.dumps({**json.loads(lock.path.read_text()), "token": "the other watcher"}))
    with pytest.raises(LockLost) as raised:
        lock.fence()
    assert isinstance(raised.value, ProcessorError) and lock.lost.is_set()
    with pytest.raises(LockLost):
        lock.fence()  # and stays lost
    lock.release()
    assert json.loads(lock.path.read_text())["token"] == "the other watcher"


def test_a_run_whose_lock_is_taken_over_stops_and_writes_no_results(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=20, mix="delete-only", latency_ms=20)
    settings = settings_for(sb, workers=1)
    path = workbook_for(library)
    lock = WatcherLock(Path(settings.inbox_dir), stale_after=60)
    assert lock.acquire()

    def take_over():  # another watcher takes the lock once three portfolios are deleted
        wait_until(lambda: len([r for r in sb.requests if r["method"] == "DELETE"]) >= 3, timeout=30, every=0.002)
        lock.path.write_text(json.dumps({**json.loads(lock.path.read_text()), "token": "the other watcher"}))

    thief = threading.Thread(target=take_over)
    thief.start()
    outcome = process_file(path, settings, stream=None, fence=lock.fence)
    thief.join()

    assert outcome.status == "lock-lost" and outcome.results_path is None
    assert list(Path(settings.outbox_dir).glob("*.xlsx")) == []
    deletes = [r["path"] for r in sb.requests if r["method"] == "DELETE"]
    assert 3 <= len(deletes) <= 4 and len(set(deletes)) == len(deletes)  # at most the row in flight
    journal = Journal(Path(settings.state_dir) / "journal.sqlite3")
    [run] = journal.unfinished_runs()
    assert run.status == "running"  # left for the watcher that holds the lock now
    journal.close()


# -- stability: a copy that stalls is not taken as finished -----------------------------------

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


def test_a_dot_file_claimed_beside_one_of_the_same_name_keeps_its_dot(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folders = Folders(inbox, inbox / "processing", inbox / "done", inbox / "rejected")
    folders.create()
    (folders.processing / ".p2e.xlsx").write_bytes(b"first")
    (inbox / ".p2e.xlsx").write_bytes(b"second")
    claimed = claim(inbox / ".p2e.xlsx", folders)
    assert claimed.name == ".p2e (2).xlsx" and claimed.read_bytes() == b"second"
