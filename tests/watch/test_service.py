"""Running it for real: `processor.py watch` as a process stopped by SIGTERM or frozen, and `watch --once` refused."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from p2e.cli import PROJECT, main
from p2e.config import load_settings
from p2e.journal import Journal
from p2e.watch import Folders, watch
from tests.conftest import clean_environment, outbox, results_rows, staff_files, wait_until, write_config


@pytest.mark.skipif(os.name == "nt", reason="SIGTERM is how systemd stops the service; Windows uses Ctrl-Break")
def test_sigterm_finishes_the_row_in_flight_and_the_next_start_resumes(start_sandbox, tmp_path):
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=30, mix="delete-only", latency_ms=15)
    config = write_config(tmp_path, sb, WORKERS="1")
    write_workbook(library, tmp_path / "inbox" / "UIU P2E clean-up.xlsx")
    process = subprocess.Popen([sys.executable, str(PROJECT / "processor.py"), "watch", "--config", str(config)],
                               cwd=tmp_path, env=clean_environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: len([r for r in sb.requests if r["method"] == "DELETE"]) >= 3, timeout=30)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Stopping (SIGTERM): finishing the row in flight" in output

    settings = load_settings(config)
    folders = Folders.of(settings)
    assert staff_files(folders.processing) == ["UIU P2E clean-up.xlsx"]  # not lost, not done
    [stopped] = outbox(settings, "PARTIAL results")
    first = results_rows(stopped)
    done_first = [r for r in first if r["Result"] == "Done"]
    assert done_first and {r["Result"] for r in first} == {"Done", "Not run"}
    journal = Journal(settings.state_dir / "journal.sqlite3")
    assert [r.status for r in journal.unfinished_runs()] == ["running"]
    journal.close()
    log_text = (settings.state_dir / "logs" / "p2e.log").read_text(encoding="utf-8")
    assert "Stopping (SIGTERM)" in log_text and "The watcher has stopped." in log_text
    assert sb.api_key not in log_text and sb.api_key not in output
    assert not (folders.inbox / ".p2e-watcher.lock").exists()

    deletes = len([r for r in sb.requests if r["method"] == "DELETE"])
    assert watch(replace(settings, workers=4), once=True, settle_seconds=0.05) == 0
    assert staff_files(folders.processing) == []
    final = max(outbox(settings, "results"), key=lambda p: p.stat().st_mtime)
    assert {r["Result"] for r in results_rows(final)} == {"Done"}
    assert len([r for r in sb.requests if r["method"] == "DELETE"]) - deletes == len(library.rows) - len(done_first)
    state = sb.state()
    assert not any(row["portfolio_id"] in state["portfolios"] for row in library.rows)


def test_watch_once_from_the_command_line_says_when_another_watcher_is_at_work(start_sandbox, tmp_path, capsys):
    import json
    import socket
    from datetime import datetime, timezone

    sb, _ = start_sandbox(rows=1)
    config = write_config(tmp_path, sb)
    now = datetime.now(timezone.utc).isoformat()
    (tmp_path / "inbox" / ".p2e-watcher.lock").write_text(json.dumps(
        {"host": "lib-srv-2", "pid": 99, "started": now, "heartbeat": now, "token": "x"}))
    try:
        code = main(["watch", "--once", "--config", str(config)])
    finally:
        import logging

        for handler in [h for h in logging.getLogger().handlers if getattr(h, "_p2e", False)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert code == 3
    err = capsys.readouterr().err
    assert "Another watcher (host lib-srv-2, process 99, started " in err
    assert "is already watching this inbox; this run leaves everything to it and exits." in err
    assert socket.gethostname() not in err.split("Another watcher")[1].split(")")[0]
    assert staff_files(tmp_path / "inbox" / "processing") == []


@pytest.mark.skipif(os.name == "nt", reason="SIGSTOP/SIGCONT freeze and thaw a process on POSIX")
def test_a_watcher_frozen_past_the_stale_time_stops_without_writing_once_another_has_taken_over(
        start_sandbox, tmp_path, smtp_server):  # noqa: F811
    """Two watcher processes on one inbox; the first is frozen (a laptop asleep, a VM paused) mid-file.

    The second takes the stale lock over and finishes the file. Thawed, the first must prove it still
    holds the lock before each row and each write: it sends nothing more to Alma, writes no results
    workbook, sends no email, leaves the file where the second put it, and stops.
    """
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=16, mix="delete-only", latency_ms=100)
    config = write_config(tmp_path, sb, WORKERS="1", SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port),
                          SMTP_SECURITY="none", MAIL_FROM="p2e@library.example.edu",
                          MAIL_TO="systems@library.example.edu")
    write_workbook(library, tmp_path / "inbox" / "UIU P2E clean-up.xlsx")
    command = [sys.executable, str(PROJECT / "processor.py"), "watch", "--config", str(config),
               "--lock-stale", "0.05"]  # 3 seconds
    deletes = lambda: [r["path"] for r in sb.requests if r["method"] == "DELETE"]  # noqa: E731
    first = subprocess.Popen(command, cwd=tmp_path, env=clean_environment(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    second = None
    try:
        wait_until(lambda: len(deletes()) >= 3, timeout=60, every=0.002)
        time.sleep(0.04)  # the first is now waiting for Alma's answer to its next read
        first.send_signal(signal.SIGSTOP)
        second = subprocess.Popen(command, cwd=tmp_path, env=clean_environment(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        folders = Folders.of(load_settings(config))
        wait_until(lambda: staff_files(folders.done), timeout=90)
        wait_until(lambda: smtp_server.messages, timeout=30)
        first.send_signal(signal.SIGCONT)
        first_output, _ = first.communicate(timeout=60)
        second.send_signal(signal.SIGTERM)
        second_output, _ = second.communicate(timeout=60)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
                process.wait()

    assert first.returncode == 1, first_output
    assert "another watcher took over its lock" in first_output
    assert second.returncode == 0, second_output
    assert "Took over the watcher lock" in second_output
    sent = deletes()
    assert len(sent) == len(set(sent)) == len(library.rows)  # no portfolio got a second DELETE
    state = sb.state()
    assert not any(row["portfolio_id"] in state["portfolios"] for row in library.rows)
    settings = load_settings(config)
    assert outbox(settings, "PARTIAL results") == []  # nothing from the first contradicts the second
    [final] = outbox(settings, "results")
    assert {r["Result"] for r in results_rows(final)} == {"Done"}
    assert [m["Subject"] for m in smtp_server.messages] == ["P2E clean-up: UIU P2E clean-up.xlsx processed - 16 done"]
    assert staff_files(folders.processing) == [] and staff_files(folders.inbox) == []
    assert len(staff_files(folders.done)) == 1
    journal = Journal(settings.state_dir / "journal.sqlite3")
    assert journal.unfinished_runs() == []
    journal.close()
