"""No result column is ever lost, and restore works from the run's own records (journal, backups)."""
from __future__ import annotations

import io
import shutil
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from p2e.config import Settings
from p2e.journal import Journal
from p2e.model import Action, Outcome, Row, RowResult, Sheet
from p2e.pipeline import check_file, process_file
from p2e.report import RunInfo, write_results
from p2e.restore import restore

MMS, PID = "9917042712205899", "53212785660005899"


def _wide_workbook(path: Path, stray_column: int) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["MMS ID", "Portfolio ID", "Action"])
    ws.append([MMS, PID, "delete"])
    ws.cell(row=5, column=stray_column, value="x")
    wb.save(path)
    return path


def test_a_stray_cell_near_excels_last_column_is_refused_and_named(tmp_path):
    # Column 16,377 (XEW) leaves only 7 free columns; the results need 8.
    sheet, problems = check_file(_wide_workbook(tmp_path / "wide.xlsx", 16_377), Settings())
    assert sheet is not None
    [problem] = problems
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 5, "XEW")
    assert problem.message.startswith("Something is in cell XEW5, far to the right of your columns (your last "
                                      "heading is in column C).")
    assert "Delete column XEW" in problem.message


def test_a_sheet_with_room_for_the_results_is_accepted(tmp_path):
    _, problems = check_file(_wide_workbook(tmp_path / "wide.xlsx", 16_376), Settings())
    assert problems == []


def test_the_results_workbook_never_drops_a_column_silently(tmp_path):
    headers = ["MMS ID"] + [""] * 16_378
    sheet = Sheet(tmp_path / "a.xlsx", "P2E", 1, headers, {"mms_id": 0},
                  rows=[Row(2, [MMS] + [None] * 16_378, action=Action.DELETE, mms_id=MMS)])
    result = RowResult(sheet.rows[0], Outcome.DONE, "Deleted.", mms_id=MMS)
    info = RunInfo("a.xlsx", "Apply", "sandbox", datetime.now(), datetime.now())
    with pytest.raises(ValueError, match="would not fit"):
        write_results(tmp_path / "out.xlsx", sheet, [result], info)


def _strip_result_columns(results_path: Path, target: Path) -> Path:
    """A copy of a results workbook whose Results sheet lost every result column (as a too-wide sheet did)."""
    wb = openpyxl.load_workbook(results_path)
    ws = wb["Results"]
    header = [c.value for c in ws[1]]
    first = header.index("Result")
    ws.delete_cols(first + 1, ws.max_column - first)
    wb.save(target)
    return target


def test_restore_finds_what_the_run_did_from_its_journal_and_backups(start_sandbox, settings_for, workbook_for,
                                                                    tmp_path):
    sb, library = start_sandbox(rows=12, mix="delete-only")
    settings = settings_for(sb)
    outcome = process_file(workbook_for(library), settings, stream=None)
    done = [r for r in outcome.results if r.outcome is Outcome.DONE]
    assert done
    gone = {r.portfolio_id for r in done}
    assert not gone & set(sb.state()["portfolios"])
    stripped = _strip_result_columns(outcome.results_path, tmp_path / "stripped.xlsx")
    out = io.StringIO()
    assert restore(stripped, settings, stream=out) == 0
    assert f"{len(done)} row(s) restored" in out.getvalue()
    after = sb.state()["portfolios"]
    book = openpyxl.load_workbook(next(settings.outbox_dir.glob("stripped - restore *.xlsx")), read_only=True)
    rows = [r for r in book["Restore"].iter_rows(min_row=2, values_only=True) if isinstance(r[0], int)]
    assert sorted(r[3] for r in rows) == sorted(gone)  # Old portfolio ID
    assert all(r[6] == "Restored" and r[4] in after and after[r[4]]["is_standalone"] for r in rows)
    lists = list(settings.outbox_dir.glob("* - deleted portfolio IDs*.txt"))
    assert sorted(lists[0].read_text().split()) == sorted(gone)


def test_a_restore_with_no_backups_for_a_run_that_deleted_says_so_and_fails(start_sandbox, settings_for,
                                                                            workbook_for):
    sb, library = start_sandbox(rows=6, mix="delete-only")
    settings = settings_for(sb)
    outcome = process_file(workbook_for(library), settings, stream=None)
    deleted = [r for r in outcome.results if r.outcome is Outcome.DONE]
    assert deleted
    shutil.rmtree(settings.state_dir / "backups")
    out = io.StringIO()
    assert restore(outcome.results_path, settings, stream=out) == 1
    text = out.getvalue()
    assert f"{len(deleted)} failed" in text
    assert "0 row(s) restored" in text


def test_a_restore_where_the_runs_records_are_missing_says_so_and_exits_2(start_sandbox, settings_for,
                                                                         workbook_for):
    sb, library = start_sandbox(rows=6, mix="delete-only")
    settings = settings_for(sb)
    outcome = process_file(workbook_for(library), settings, stream=None)
    shutil.rmtree(settings.state_dir)
    settings.state_dir.mkdir()
    out = io.StringIO()
    assert restore(outcome.results_path, settings, stream=out) == 2
    assert f"No record of run {outcome.run_id}" in out.getvalue()
    assert not list(settings.outbox_dir.glob("* - restore *.xlsx"))
