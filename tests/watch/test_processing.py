"""Files left in processing/ (p2e/watch/processing.py): a crashed run finishes on start, a paused one after its time."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from p2e.journal import PAUSED, Journal
from p2e.pipeline import process_file
from p2e.watch import Folders, watch
from tests.conftest import mail_settings, outbox, results_rows, staff_files
from tests.watch.conftest import assert_alma_matches


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
