"""One watcher per inbox (p2e/watch/lock.py): the lock file, its heartbeat, takeover, and fencing."""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from p2e.journal import Journal
from p2e.pipeline import process_file
from p2e.watch import EXIT_ANOTHER_WATCHER, LOCK_NAME, Folders, WatcherLock, watch
from tests.conftest import outbox, staff_files, wait_until
from tests.watch.conftest import watcher_thread


def lock_holder(lock: Path) -> dict:
    """The lock file's content, once its holder has written it."""
    def read():
        try:
            return json.loads(lock.read_text())
        except (OSError, ValueError):
            return None
    return wait_until(read)


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
