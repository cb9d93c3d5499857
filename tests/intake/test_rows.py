"""From rows to a Sheet: merged cells, uncalculated formulas, hidden things that carry an action, doubtful action words (issue 10, points 4 and 5)."""
from __future__ import annotations

import openpyxl
import pytest
import xlsxwriter

from p2e import intake
from p2e.config import Settings
from p2e.intake import read_workbook
from p2e.model import Action
from p2e.validate import validate
from .conftest import data_row, HEADER_XML, inline, MMS, MMS_1, MMS_2, MMS_3, only_message, raw_workbook, rejected, workbook


def test_merged_header_cells(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["Report title"])
    ws.append(["MMS ID", "Action", "Notes", None])
    ws.append([MMS, "delete", "x", "y"])
    ws.merge_cells("C2:D2")
    ws.merge_cells("A1:D1")  # a merged title above the header is fine
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    exc = rejected(path)
    assert exc.problems[0].message == (
        "The header row (row 2) has merged cells (C2:D2). Unmerge them (select the row, then Home > Merge & "
        "Center > Unmerge Cells) so that every column has its own heading, and put the file back.")
    assert (exc.problems[0].sheet, exc.problems[0].row) == ("P2E", 2)


def test_merged_cells_in_the_data(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MMS ID", "Action"])
    ws.append([MMS, "delete"])
    ws.append(["9917042712305899", None])
    ws.merge_cells("B2:B3")
    path = tmp_path / "merged.xlsx"
    wb.save(path)
    assert only_message(path) == (
        "Some cells below the header are merged (B2:B3); only the first cell of a merged block holds a value, so "
        "the other rows would look empty. Unmerge them (select the sheet, then Home > Merge & Center > Unmerge "
        "Cells), fill in every row, and put the file back.")


def test_hidden_rows(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["MMS ID", "Action"])
    for i in range(5):
        ws.append([f"99170427122{i:02d}5899", "delete"])
    ws.row_dimensions[3].hidden = True
    ws.row_dimensions[5].hidden = True
    ws.row_dimensions[40].hidden = True  # an empty hidden row does not matter
    path = tmp_path / "hidden.xlsx"
    wb.save(path)
    exc = rejected(path)
    assert exc.problems[0].message == (
        "2 hidden rows (rows 3, 5) ask for a change in Alma (delete or relink). Hidden rows would be processed "
        "without anyone seeing them: unhide all rows (select the whole sheet, right-click a row number, Unhide; "
        "clear any filter), check them, and put the file back. Hidden rows marked keep, or with an empty Action "
        "cell, are fine.")
    assert (exc.problems[0].sheet, exc.problems[0].row) == ("P2E", 3)


def test_one_hidden_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MMS ID", "Action"])
    ws.append([MMS, "delete"])
    ws.row_dimensions[2].hidden = True
    path = tmp_path / "hidden.xlsx"
    wb.save(path)
    assert only_message(path).startswith("1 hidden row (row 2) asks for a change in Alma (delete or relink). Hidden "
                                         "rows would be processed")


def test_formula_without_cached_value(tmp_path):
    """openpyxl writes formulas without results, like many non-Excel tools."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["MMS ID", "Action", "Title"])
    ws.append([MMS, '=LOWER("DELETE")', '=UPPER("a title")'])  # the Title formula does not matter
    ws.append(['="9917042712305899"', "delete", None])
    path = tmp_path / "formulas.xlsx"
    wb.save(path)
    exc = rejected(path)
    problem = exc.problems[0]
    assert problem.message == (
        "2 cells in the Action or ID columns hold a formula that has never been calculated (B2, A3), so the "
        "processor cannot see its value. The file was probably saved by a program other than Excel: open it in "
        "Excel and save it again, or copy those columns and use Paste Special > Values.")
    assert (problem.sheet, problem.row, problem.column, problem.column_name) == ("P2E", 2, "B", "Action")


def test_formula_with_cached_value_is_read(tmp_path):
    """xlsxwriter can store a formula's result, as Excel does: then the value is used."""
    path = tmp_path / "cached.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("P2E")
    ws.write_string(0, 0, "MMS ID")
    ws.write_string(0, 1, "Action")
    ws.write_string(1, 0, MMS)
    ws.write_formula(1, 1, '=LOWER("DELETE")', None, "delete")
    wb.close()
    sheet = read_workbook(path)
    assert sheet.rows[0].action.value == "delete"


# === point 4: anything hidden that carries an action is refused; hidden content without one is fine ===

def test_hidden_rows_marked_keep_or_empty_are_accepted(tmp_path):
    """Staff filter the P2E report (which hides rows): hidden keep rows and hidden empty actions are fine."""
    def hide(wb, ws):
        ws.row_dimensions[3].hidden = True
        ws.row_dimensions[4].hidden = True
    path = workbook(tmp_path, [["MMS ID", "Action", "Title"], [MMS_1, "delete", "a"], [MMS_2, "keep", "b"],
                               [MMS_3, None, "c"]], change=hide)
    sheet = read_workbook(path)
    assert [(r.number, r.action) for r in sheet.rows] == [(2, Action.DELETE), (3, Action.KEEP), (4, Action.KEEP)]


def test_hidden_row_with_a_writing_action_is_refused(tmp_path):
    def hide(wb, ws):
        ws.row_dimensions[3].hidden = True  # keep: fine
        ws.row_dimensions[4].hidden = True  # relink: refused
        ws.row_dimensions[5].hidden = True  # delete: refused
    path = workbook(tmp_path, [["MMS ID", "Action", "Target MMS ID"], [MMS_1, "delete"], [MMS_2, "keep"],
                               [MMS_3, "relink", "991234567890125899"], ["9917043012205899", "Delete"]], change=hide)
    exc = rejected(path)
    assert len(exc.problems) == 1
    problem = exc.problems[0]
    assert (problem.sheet, problem.row) == ("P2E", 4)
    assert problem.message == (
        "2 hidden rows (rows 4, 5) ask for a change in Alma (delete or relink). Hidden rows would be processed "
        "without anyone seeing them: unhide all rows (select the whole sheet, right-click a row number, Unhide; "
        "clear any filter), check them, and put the file back. Hidden rows marked keep, or with an empty Action "
        "cell, are fine.")


def test_hidden_action_column_with_a_delete_is_refused(tmp_path):
    def hide(wb, ws):
        ws.column_dimensions["B"].hidden = True
    path = workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "keep"], [MMS_2, "delete"]], change=hide)
    exc = rejected(path)
    problem = exc.problems[0]
    assert (problem.sheet, problem.row, problem.column, problem.column_name) == ("P2E", 3, "B", "Action")
    assert problem.message == (
        "The Action column (column B) is hidden, and 1 row in it asks for a change in Alma (row 3). A hidden "
        "column would be processed without anyone seeing it: unhide it (select the columns either side of it, "
        "right-click a column letter, Unhide), check it, and put the file back.")


def test_hidden_bib_handling_or_target_column_that_steers_a_write_is_refused(tmp_path):
    def hide_d(wb, ws):
        ws.column_dimensions["C"].hidden = True
    header = ["MMS ID", "Action", "Bib handling", "Target MMS ID"]
    path = workbook(tmp_path, [header, [MMS_1, "delete", "keep"], [MMS_2, "delete", "delete"]], change=hide_d)
    problem = rejected(path).problems[0]
    assert (problem.row, problem.column, problem.column_name) == (3, "C", "Bib handling")
    assert problem.message == (
        "The Bib handling column (column C) is hidden, and 1 row that changes Alma depends on it (row 3). A hidden "
        "column would be processed without anyone seeing it: unhide it (select the columns either side of it, "
        "right-click a column letter, Unhide), check it, and put the file back.")

    def hide_t(wb, ws):
        ws.column_dimensions["D"].hidden = True
    path = workbook(tmp_path, [header, [MMS_1, "relink", None, "991234567890125899"]], name="t.xlsx", change=hide_t)
    assert rejected(path).problems[0].message.startswith("The Target MMS ID column (column D) is hidden, and 1 row")

    # bib handling keep (nothing extra happens) in a hidden column is fine
    path = workbook(tmp_path, [header, [MMS_1, "delete", "keep"]], name="k.xlsx", change=hide_d)
    assert read_workbook(path).rows[0].action is Action.DELETE


def test_hidden_action_column_inside_a_hidden_range_is_refused(tmp_path):
    """Excel stores hidden columns as ranges (<col min="2" max="4" hidden="1">)."""
    def hide(wb, ws):
        ws.column_dimensions.group("B", "D", hidden=True)
    path = workbook(tmp_path, [["MMS ID", "Title", "Action", "Note"], [MMS_1, "t", "relink"]], change=hide)
    assert rejected(path).problems[0].column == "C"


def test_hidden_action_column_with_only_keep_and_hidden_other_columns_are_fine(tmp_path):
    def hide(wb, ws):
        ws.column_dimensions["B"].hidden = True
    path = workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "keep"], [MMS_2, None]], change=hide)
    assert len(read_workbook(path).rows) == 2

    def hide_title(wb, ws):
        ws.column_dimensions["C"].hidden = True
    path = workbook(tmp_path, [["MMS ID", "Action", "Title"], [MMS_1, "delete", "t"]], name="t.xlsx",
                    change=hide_title)
    assert read_workbook(path).rows[0].action is Action.DELETE


@pytest.mark.parametrize("row_attrs, sheet_extra", [
    ('ht="0" customHeight="1"', ""),                                   # zero high: Excel shows nothing
    ("", '<sheetFormatPr defaultRowHeight="15" zeroHeight="1"/>'),     # rows hidden unless given a height
])
def test_rows_hidden_another_way_are_hidden_too(tmp_path, row_attrs, sheet_extra):
    rows = (HEADER_XML.replace('<row r="1">', '<row r="1" ht="15" customHeight="1">')
            + f'<row r="2" ht="15" customHeight="1">' + inline("A2", MMS_1) + inline("B2", "keep") + "</row>"
            + f'<row r="3" {row_attrs}>' + inline("A3", MMS_2) + inline("B3", "delete") + "</row>")
    exc = rejected(raw_workbook(tmp_path / "zero.xlsx", rows, sheet_extra=sheet_extra))
    assert exc.problems[0].message.startswith("1 hidden row (row 3) asks for a change in Alma")


def test_zero_width_action_column_is_hidden(tmp_path):
    rows = HEADER_XML + data_row(2)
    exc = rejected(raw_workbook(tmp_path / "narrow.xlsx", rows,
                                sheet_extra='<cols><col min="2" max="2" width="0" customWidth="1"/></cols>'))
    assert exc.problems[0].message.startswith("The Action column (column B) is hidden")


@pytest.mark.parametrize("state, words", [
    ("hidden", "is hidden"),
    ("veryHidden", "is very hidden (Excel's Unhide menu does not show it)"),
])
def test_hidden_action_sheet_with_a_delete_is_refused(tmp_path, state, words):
    def hide(wb, ws):
        ws.sheet_state = state
        wb.active = 1
    path = workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "delete"], [MMS_2, "keep"]], change=hide,
                    extra_sheet=True)
    exc = rejected(path)
    problem = exc.problems[0]
    assert (problem.sheet, problem.row) == ("P2E", 2)
    assert problem.message.startswith(f"The sheet 'P2E', which holds the Action column, {words}, and 1 row on it "
                                      "asks for a change in Alma (row 2).")


def test_hidden_sheet_with_only_keep_rows_is_read(tmp_path):
    def hide(wb, ws):
        ws.sheet_state = "hidden"
        wb.active = 1
    path = workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "keep"]], change=hide, extra_sheet=True)
    assert read_workbook(path).rows[0].action is Action.KEEP


# === point 5: an action word with any sign of doubt is refused ====================================

@pytest.mark.parametrize("typed", [
    "delete?", "?delete", "maybe delete", "not delete", "don't delete", "delete (check)", "Delete ?",
    "relink?", "delete!", "delete or keep", "DELETE??",
])
def test_doubtful_action_words_are_refused_with_the_row_named(tmp_path, typed):
    path = workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "delete"], [MMS_2, typed]])
    sheet = read_workbook(path)
    assert sheet.rows[1].action is None
    problems = validate(sheet, Settings())
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 3, "B")
    assert problem.message == (
        f"The Action cell says '{typed.strip()}', which is not exactly delete, relink, group or keep, so the "
        "processor will not guess. If this row is to be changed, write just the word (delete, relink or group); if you are not "
        "sure, write keep (or leave the cell empty) and check the row first.")


@pytest.mark.parametrize("typed, expected", [
    (" DELETE ", Action.DELETE), ("Re-link", Action.RELINK), ("re link", Action.RELINK), ("Keep", Action.KEEP),
    ("delete\u00a0", Action.DELETE), ("\u200bdelete", Action.DELETE),
])
def test_exact_words_any_case_and_spacing_still_count(tmp_path, typed, expected):
    assert Action.parse(typed) is expected
    assert intake.parse_action(typed) is expected


def test_an_unrelated_word_keeps_the_plain_unknown_message(tmp_path):
    path = workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "remove"]])
    problems = validate(read_workbook(path), Settings())
    assert [p.message for p in problems] == ["Unknown action 'remove': write delete, relink, group or keep."]
