"""The journal: a journal written by an earlier version still opens, and keeps what later versions need."""
from __future__ import annotations

import sqlite3

from p2e.journal import Journal, RunResults
from p2e.model import Outcome, Row, RowResult


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


def _result(row, outcome=Outcome.DONE, details="Deleted."):
    return RowResult(row, outcome, details, mms_id=f"99{row.number}", portfolio_id=f"53{row.number}")


def test_a_runs_results_are_read_back_in_the_sheets_order_one_at_a_time_even_after_the_journal_is_closed(tmp_path):
    rows = [Row(n, []) for n in (2, 3, 4, 5, 7)]
    journal = Journal(tmp_path / "journal.sqlite3")
    run = journal.start_run("f.xlsx", "cd" * 32, "apply")
    other = journal.start_run("g.xlsx", "ef" * 32, "apply")
    for row in (rows[4], rows[0], rows[2]):  # recorded in any order, as workers finish
        journal.record_result(run.run_id, _result(row))
    journal.record_result(run.run_id, _result(rows[3], Outcome.FAILED, "Alma refused."))
    journal.record_result(other.run_id, _result(rows[1]))  # another run's: not this run's
    assert journal.finished_rows(run.run_id) == {2, 4, 5, 7}
    journal.close()

    not_run = RowResult(rows[3], Outcome.NOT_RUN, "Not run: the daily allowance ran out.")
    results = RunResults(journal.path, run.run_id, rows, {5: not_run})
    got = [(r.row.number, r.outcome, r.details, r.mms_id) for r in results]
    assert got == [(2, Outcome.DONE, "Deleted.", "992"), (4, Outcome.DONE, "Deleted.", "994"),
                   (5, Outcome.NOT_RUN, "Not run: the daily allowance ran out.", None),
                   (7, Outcome.DONE, "Deleted.", "997")]
    assert all(r.row is rows[[2, 3, 4, 5, 7].index(r.row.number)] for r in results)  # the sheet's own rows
    assert len(results) == 4 and [r.row.number for r in results] == [2, 4, 5, 7]  # read again: the same
    assert not_run in results


def test_a_row_out_of_the_sheets_order_still_gets_its_result(tmp_path):
    rows = [Row(2, []), Row(9, []), Row(5, [])]  # a hand-made file
    journal = Journal(tmp_path / "journal.sqlite3")
    run = journal.start_run("f.xlsx", "cd" * 32, "apply")
    for row in rows:
        journal.record_result(run.run_id, _result(row))
    journal.close()
    assert [r.row.number for r in RunResults(journal.path, run.run_id, rows)] == [2, 9, 5]
