"""Old Excel 97-2003 workbooks (.xls), read like .xlsx: the same ID check, the same rules on hidden things.

The fixtures were saved as .xls by LibreOffice from workbooks built by ``fixtures/make_xls.py`` (committed,
since CI may have no LibreOffice): a header row MMS ID, Portfolio ID, Action, Title, Checked on, then
row 2 (IDs as text, delete), row 3 (the MMS ID typed as a number Excel rounded, delete) and row 4
(keep, an MMS ID typed as a number, a number, true).
"""
from __future__ import annotations

import datetime
import shutil
from pathlib import Path

from p2e.intake import read_workbook
from p2e.model import Action, Mode

from .conftest import OLE2, only_message

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_an_xls_workbook_is_read_with_its_types(tmp_path):
    sheet = read_workbook(FIXTURES / "p2e.xls")
    assert sheet.sheet_name == "P2E" and sheet.header_row == 1
    assert sheet.headers == ["MMS ID", "Portfolio ID", "Action", "Title", "Checked on"]
    assert [r.number for r in sheet.rows] == [2, 3, 4]
    first, rounded, kept = sheet.rows
    assert (first.action, first.mms_id, first.portfolio_id) == (Action.DELETE, "9917042712205899", "53170427120005899")
    assert first.values[3] == "A title kept as text" and first.values[4] == datetime.datetime(2024, 3, 15)
    assert rounded.values[3] == "=not a formula"  # text, never a formula
    assert kept.action is Action.KEEP and kept.mms_id == "991704291"
    assert kept.values[3:] == [12.5, True] and type(kept.values[3]) is float
    assert sheet.mode is Mode.PREVIEW  # from the Settings sheet


def test_an_id_stored_as_a_number_and_rounded_by_excel_is_a_problem_at_its_cell():
    sheet = read_workbook(FIXTURES / "p2e.xls")
    assert sheet.rows[1].mms_id is None
    [problem] = sheet.problems
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 3, "A")
    assert "15" in problem.message or "round" in problem.message.lower()


def test_a_hidden_row_that_asks_for_a_change_is_refused():
    assert only_message(FIXTURES / "hidden-row.xls").startswith(
        "1 hidden row (row 3) asks for a change in Alma (delete or relink).")


def test_a_hidden_action_column_is_refused():
    assert only_message(FIXTURES / "hidden-action-column.xls").startswith(
        "The Action column (column C) is hidden, and 2 rows in it ask for a change in Alma (rows 2, 3).")


def test_a_hidden_action_sheet_is_refused():
    assert only_message(FIXTURES / "hidden-sheet.xls").startswith(
        "The sheet 'P2E', which holds the Action column, is hidden, and 2 rows on it ask for a change in Alma")


def test_merged_cells_below_the_header_are_refused():
    assert only_message(FIXTURES / "merged.xls").startswith("Some cells below the header are merged (D3:E3)")


def test_an_xls_workbook_renamed_xlsx_is_read_as_xls(tmp_path):
    path = shutil.copy(FIXTURES / "p2e.xls", tmp_path / "renamed.xlsx")
    assert [r.number for r in read_workbook(Path(path)).rows] == [2, 3, 4]


def test_a_damaged_xls_workbook_is_refused_in_plain_words(tmp_path):
    cut = tmp_path / "cut.xls"
    cut.write_bytes((FIXTURES / "p2e.xls").read_bytes()[:3000])
    fake = tmp_path / "fake.xls"
    fake.write_bytes(OLE2 + b"\x00" * 4096)
    for path in (cut, fake):
        assert only_message(path) == (
            f"The file {path.name} is an old Excel 97-2003 workbook (.xls) that cannot be read: it is damaged, "
            "incomplete or not really a workbook. Open it in Excel, choose File > Save As, pick 'Excel Workbook "
            "(.xlsx)', and put the .xlsx file in the folder.")
