"""The journal: a journal written by an earlier version still opens, and keeps what later versions need."""
from __future__ import annotations

import sqlite3

from p2e.journal import Journal


def test_a_journal_from_before_the_old_catalogue_key_was_kept_is_upgraded_in_place(tmp_path):
    path = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE deleted (portfolio_id TEXT PRIMARY KEY, mms_id TEXT, run_id TEXT, time TEXT)")
    db.execute("INSERT INTO deleted VALUES ('531', '991', 'old-run', '2026-01-02T03:04:05+00:00')")
    db.commit()
    db.close()

    journal = Journal(path)
    try:
        assert journal.deleted_by("531") == ("old-run", "2026-01-02T03:04:05+00:00")
        journal.mark_deleted("532", "992", "new-run", "(UIUdb)7")
        assert journal.deleted_by_other_system_id("(UIUdb)7")[:3] == ("532", "992", "new-run")
        assert journal.deleted_on_bib("991")[0] == "531"
    finally:
        journal.close()


def test_attempts_add_up_calls_and_time_and_count_how_often_a_run_was_resumed(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        run = journal.start_run("f.xlsx", "ab" * 32, "apply")
        journal.begin_attempt(run.run_id)
        journal.note_attempt(run.run_id, 1200, force=True)
        journal.begin_attempt(run.run_id)
        journal.note_attempt(run.run_id, 60, force=True)
        count, calls, seconds = journal.attempts(run.run_id)
        assert (count, calls) == (2, 1260) and seconds >= 0
    finally:
        journal.close()
