"""Issue 10: hidden things that carry an action, doubtful action words, hostile and damaged workbooks.

Every workbook is a real file built here (openpyxl, xlsxwriter, or zipfile with hand-written XML,
which keeps hostile files small on disk).
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
import xlsxwriter

from p2e import intake
from p2e.intake import limits
from p2e.config import Settings
from p2e.intake import FileRejected, read_workbook
from p2e.model import Action, Problem
from p2e.report import write_rejection
from p2e.validate import validate

PROJECT = Path(__file__).resolve().parents[1]
MMS_1, MMS_2, MMS_3 = "9917042712205899", "9917042812205899", "9917042912205899"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def rejected(path) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        read_workbook(path)
    return info.value


def workbook(tmp_path, rows, name="p2e.xlsx", change=None, extra_sheet=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    for row in rows:
        ws.append(row)
    if extra_sheet:
        wb.create_sheet("Notes").append(["Read me"])
    if change:
        change(wb, ws)
    path = tmp_path / name
    wb.save(path)
    return path


# --- raw workbooks: a real xlsxwriter file whose sheet and shared strings are replaced ---------

def raw_workbook(path: Path, rows_xml: str, strings: list[str] | None = None, big_string_chars: int = 0,
                 sheet_extra: str = "") -> Path:
    """A workbook whose sheet1.xml holds ``rows_xml`` and whose shared strings are ``strings``
    (plus, when ``big_string_chars``, one string of that many characters, streamed into the zip)."""
    base = path.with_suffix(".base.xlsx")
    wb = xlsxwriter.Workbook(str(base))
    ws = wb.add_worksheet("P2E")
    ws.write_string(0, 0, "x")
    wb.close()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            if info.filename in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                continue
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr("xl/worksheets/sheet1.xml",
                      f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}">'
                      f'{sheet_extra}<sheetData>{rows_xml}</sheetData></worksheet>')
        with zout.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            items = list(strings or [])
            out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{NS}">'.encode())
            for s in items:
                out.write(f"<si><t>{escape(s)}</t></si>".encode())
            if big_string_chars:
                out.write(b"<si><t>")
                block = b"a" * (1 << 20)
                left = big_string_chars
                while left > 0:
                    out.write(block[:min(left, len(block))])
                    left -= len(block)
                out.write(b"</t></si>")
            out.write(b"</sst>")
    base.unlink()
    return path


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


HEADER_XML = '<row r="1">' + inline("A1", "MMS ID") + inline("B1", "Action") + "</row>"


def data_row(n: int, action: str = "delete", mms: str = MMS_1, extra: str = "") -> str:
    return f'<row r="{n}">' + inline(f"A{n}", mms) + inline(f"B{n}", action) + extra + "</row>"


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
        f"The Action cell says '{typed.strip()}', which is not exactly delete, relink or keep, so the processor "
        "will not guess. If this row is to be changed, write just the word (delete or relink); if you are not "
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
    assert [p.message for p in problems] == ["Unknown action 'remove': write delete, relink or keep."]


# === point 9: bound what intake will hold ======================================================

def test_inline_cell_longer_than_excel_allows_is_refused_naming_the_cell(tmp_path):
    rows = HEADER_XML + data_row(2) + '<row r="3">' + inline("A3", MMS_2) + inline("B3", "keep") + \
        inline("C3", "x" * 40_000) + "</row>"
    exc = rejected(raw_workbook(tmp_path / "long.xlsx", rows))
    problem = exc.problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 3, "C")
    assert problem.message == (
        "This cell holds 40,000 characters, more than Excel allows in a cell (32,767), so the file was not made "
        "by Excel or is damaged. Shorten the cell (or clear it), save the file in Excel as 'Excel Workbook "
        "(.xlsx)', and put it back in the folder.")


def test_shared_string_longer_than_excel_allows_is_refused_naming_the_cell(tmp_path):
    rows = HEADER_XML + data_row(2) + '<row r="3"><c r="D3" t="s"><v>1</v></c></row>'
    exc = rejected(raw_workbook(tmp_path / "long.xlsx", rows, strings=["short", "y" * 50_000]))
    problem = exc.problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 3, "D")
    assert "holds 50,000 characters, more than Excel allows in a cell (32,767)" in problem.message


def test_a_huge_shared_string_is_refused_before_it_is_held(tmp_path):
    """The probe's 1.2 MB workbook held one 1.15 GB string; here 300 MB. A subprocess reads it and reports
    its peak memory: the refusal must come long before the string is held (which would take > 600 MB)."""
    path = raw_workbook(tmp_path / "huge.xlsx", HEADER_XML + data_row(2), big_string_chars=300 * 1024 * 1024)
    assert path.stat().st_size < 2 * 1024 * 1024
    script = (
        "import sys, resource\n"
        "from p2e.intake import read_workbook, FileRejected\n"
        "try:\n"
        "    read_workbook(sys.argv[1], max_file_mb=50)\n"
        "    print('READ')\n"
        "except FileRejected as exc:\n"
        "    print(exc)\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=PROJECT,
                          timeout=600)
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "holds more text in one cell than Excel allows (32,767 characters)" in out
    peak_mb = int(out.rsplit("PEAK", 1)[1])
    assert peak_mb < 300, out


def test_csv_cells_longer_than_excel_allows_are_refused(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(f"MMS ID,Action,Note\n{MMS_1},delete,{'n' * 40_000}\n")
    problem = rejected(path).problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("long", 2, "C")
    assert problem.message.startswith("This cell holds 40,000 characters, more than Excel allows in a cell (32,767)")
    path = tmp_path / "huge.csv"
    path.write_text(f"MMS ID,Action,Note\n{MMS_1},delete,{'n' * 200_000}\n")
    assert "more text in one cell than Excel allows" in rejected(path).problems[0].message


def test_cell_reference_past_column_xfd_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2, extra='<c r="XFE2" t="inlineStr"><is><t>x</t></is></c>')
    exc = rejected(raw_workbook(tmp_path / "wide.xlsx", rows))
    problem = exc.problems[0]
    assert (problem.sheet, problem.row) == ("P2E", 2)
    assert problem.message == (
        "Row 2 has a cell at XFE2, outside Excel's grid (Excel's last column is XFD and its last row is 1,048,576), "
        "so the file was not made by Excel or is damaged. Open it in Excel (let Excel repair it if it offers to), "
        "save it as 'Excel Workbook (.xlsx)', and put it back in the folder.")


def test_a_very_long_cell_reference_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2, extra=f'<c r="{"Z" * 5000}2"><v>1</v></c>')
    exc = rejected(raw_workbook(tmp_path / "wide.xlsx", rows))
    assert "outside Excel's grid" in exc.problems[0].message
    assert len(exc.problems[0].message) < 400


def test_a_number_longer_than_excel_writes_is_refused(tmp_path):
    """Excel's numbers are doubles; 4,000 digits would be held as a huge integer (and echoed whole)."""
    rows = HEADER_XML + data_row(2, extra=f'<c r="C2"><v>{"7" * 4000}</v></c>')
    problem = rejected(raw_workbook(tmp_path / "digits.xlsx", rows)).problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 2, "C")
    assert problem.message.startswith("The file digits.xlsx is damaged: this cell holds a value that cannot be read.")


def test_row_number_past_excels_last_row_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2) + data_row(1_048_577, mms=MMS_2)
    exc = rejected(raw_workbook(tmp_path / "tall.xlsx", rows))
    problem = exc.problems[0]
    assert problem.sheet == "P2E"
    assert problem.message.startswith("Row 1,048,577 is past Excel's last row (1,048,576), so the file was not "
                                      "made by Excel or is damaged.")


def test_too_many_cells_is_refused_early(tmp_path, monkeypatch):
    """Rows x columns (as the results workbook hands them back) is bounded; one stray cell far right counts."""
    monkeypatch.setattr(limits, "MAX_CELLS", 5_000)
    rows = HEADER_XML + data_row(2, extra=inline("CV2", "stray")) + "".join(data_row(n, "keep", MMS_2)
                                                                            for n in range(3, 200))
    exc = rejected(raw_workbook(tmp_path / "many.xlsx", rows))
    problem = exc.problems[0]
    assert problem.sheet == "P2E"
    assert problem.message.startswith("The sheet 'P2E' is too big to process in one file: ")
    assert "100 columns" in problem.message and "CV2" in problem.message


def test_a_sheet_without_dimension_is_bounded_before_openpyxl_reads_it(tmp_path, monkeypatch):
    """openpyxl reads a sheet whole (pure Python, an element kept per row) when <dimension> is missing:
    a sheet far bigger than intake would hold is refused before that pass."""
    monkeypatch.setattr(limits, "MAX_CELLS", 1_000)
    cells = "".join('<c t="s"><v>0</v></c>' for _ in range(16))
    rows = HEADER_XML + "".join(f'<row r="{n}">{cells}</row>' for n in range(2, 2_000))
    exc = rejected(raw_workbook(tmp_path / "nodim.xlsx", rows, strings=["x"]))
    assert exc.problems[0].message.startswith("A sheet in nodim.xlsx is too big to process in one file (more than "
                                              "1,000 cells, or more rows than Excel has).")


def test_more_rows_than_excel_has_without_numbers_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2) + "<row/>" * 1_048_576
    exc = rejected(raw_workbook(tmp_path / "rows.xlsx", rows))
    assert exc.problems[0].message.startswith("A sheet in rows.xlsx is too big to process in one file")


def test_styles_with_far_more_elements_than_excel_writes_are_refused(tmp_path, monkeypatch):
    """openpyxl builds an object for every style element: millions of tiny ones would take gigabytes."""
    monkeypatch.setattr(limits, "MAX_PART_ELEMENTS", 10_000)
    path = raw_workbook(tmp_path / "styles.xlsx", HEADER_XML + data_row(2))
    styles = (f'<styleSheet xmlns="{NS}"><cellXfs count="20000">' + '<xf numFmtId="0"/>' * 20_000
              + "</cellXfs></styleSheet>")
    target = tmp_path / "styles2.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, styles if info.filename == "xl/styles.xml" else zin.read(info.filename))
    assert rejected(target).problems[0].message.startswith("The file styles2.xlsx is damaged: part of it cannot be read.")


def test_parts_openpyxl_does_not_read_are_not_bounded_by_it(tmp_path, monkeypatch):
    """Comments and drawings are never read, so many of them do not refuse the file."""
    monkeypatch.setattr(limits, "MAX_PART_ELEMENTS", 10_000)
    path = raw_workbook(tmp_path / "comments.xlsx", HEADER_XML + data_row(2))
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("xl/comments1.xml", f'<comments xmlns="{NS}"><commentList>' + "<comment/>" * 20_000
                   + "</commentList></comments>")
    assert read_workbook(path).rows[0].action is Action.DELETE


def test_too_many_rows_is_refused(tmp_path, monkeypatch):
    """Each row costs memory besides its cells: 990,000 rows of 3 cells took 573 MB."""
    monkeypatch.setattr(limits, "MAX_ROWS", 100)
    rows = HEADER_XML + "".join(data_row(n, "keep", MMS_2) for n in range(2, 300))
    problem = rejected(raw_workbook(tmp_path / "tall.xlsx", rows)).problems[0]
    assert (problem.sheet, problem.row) == ("P2E", 102)
    assert problem.message == ("The sheet 'P2E' has more than 100 rows to process, more than the processor takes in "
                               "one file. Split the rows into several smaller files and put them in the folder one at "
                               "a time.")


def test_too_much_text_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 10_000)
    strings = [f"{i:05d}" + "t" * 100 for i in range(200)]
    rows = HEADER_XML + data_row(2)
    exc = rejected(raw_workbook(tmp_path / "text.xlsx", rows, strings=strings))
    assert exc.problems[0].message.startswith("The file text.xlsx holds more text than the processor reads in one file")


def test_a_workbook_inside_the_limits_is_still_read(tmp_path):
    rows = HEADER_XML + data_row(2) + '<row r="3"><c r="A3" t="s"><v>0</v></c>' + inline("B3", "keep") + \
        inline("XFD3", "far right is allowed") + "</row>"
    sheet = read_workbook(raw_workbook(tmp_path / "ok.xlsx", rows, strings=[MMS_2]))
    assert [(r.number, r.mms_id, r.action) for r in sheet.rows] == [(2, MMS_1, Action.DELETE), (3, MMS_2, Action.KEEP)]
    assert len(sheet.headers) == 16384


# === point 10: quote at most ~80 characters of a cell in any message ============================

def test_shorten_keeps_short_values_and_cuts_long_ones():
    from p2e.ids import shorten

    assert shorten("delete") == "delete"
    long = "x" * 40_000
    short = shorten(long)
    assert len(short) <= 100
    assert short.startswith("x" * 60) and short.endswith("… (40,000 characters)")
    assert shorten("a\nb") == "a b"


def test_long_cells_are_quoted_short_and_the_advice_is_kept(tmp_path):
    action = "please " * 4000          # 28,000 characters: under Excel's limit
    bad_id = "9" * 20 + "z" * 30_000
    header = ["MMS ID", "Action", "Bib handling", "T" * 30_000]
    path = workbook(tmp_path, [header, [MMS_1, action, None, "x"], [bad_id, "delete", "maybe " * 5000, "y"]])
    problems = validate(read_workbook(path), Settings())
    assert len(problems) == 3
    for problem in problems:
        assert len(str(problem)) < 500, str(problem)[:300]
    assert any(p.message.startswith("Unknown action 'please please") and p.message.endswith(
        "characters)': write delete, relink or keep.") for p in problems)
    assert any(p.message.endswith("for example 9917042712205899.") for p in problems)
    target = write_rejection(tmp_path / "REJECTED.xlsx", path.name, problems, datetime(2026, 11, 30, 9, 0))
    ws = openpyxl.load_workbook(target).active
    messages = [ws.cell(row=i, column=5).value for i in range(6, 9)]
    assert messages == [p.message for p in problems]


def test_long_header_is_quoted_short_in_messages(tmp_path):
    header = ["Title " * 5000, "Action"]
    problems = validate(read_workbook(workbook(tmp_path, [header, ["t", "delete"]])), Settings())
    assert len(problems) == 1
    assert len(str(problems[0])) < 600
    assert problems[0].message.endswith(")."), problems[0].message[-100:]


def test_rejection_workbook_bounds_every_field(tmp_path):
    problem = Problem("Fix it like this.", sheet="S" * 40_000, row=2, column="B", column_name="C" * 40_000)
    target = write_rejection(tmp_path / "REJECTED.xlsx", "f.xlsx", [problem], datetime(2026, 11, 30, 9, 0))
    ws = openpyxl.load_workbook(target).active
    assert len(ws.cell(row=6, column=1).value) <= 100
    assert len(ws.cell(row=6, column=4).value) <= 100
    assert ws.cell(row=6, column=5).value == "Fix it like this."


# === point 11: damaged workbooks: plain messages, and what the file really is ====================

def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


CT = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def test_xlsb_renamed_xlsx(tmp_path):
    path = zip_with(tmp_path / "p2e.xlsx", {"[Content_Types].xml": CT, "xl/workbook.bin": b"\x83\x01\x00",
                                            "xl/worksheets/sheet1.bin": b"\x81\x01\x00"})
    assert rejected(path).problems[0].message.startswith(
        "The file p2e.xlsx is an Excel Binary Workbook (.xlsb), which the processor cannot read.")


def test_docx_renamed_xlsx(tmp_path):
    path = zip_with(tmp_path / "p2e.xlsx", {"[Content_Types].xml": CT, "word/document.xml": b"<w:document/>"})
    assert rejected(path).problems[0].message == (
        "The file p2e.xlsx is a Word document, not a spreadsheet, although its name ends in .xlsx. Put the "
        "spreadsheet itself in the folder: in Excel, save it as 'Excel Workbook (.xlsx)'.")


@pytest.mark.parametrize("stream, start", [
    ("WordDocument", "The file p2e.xlsx is a Word document (.doc), not a spreadsheet"),
    ("Workbook", "The file p2e.xlsx is an old Excel 97-2003 workbook (.xls)"),
    ("EncryptedPackage", "The file p2e.xlsx is protected with a password"),
])
def test_ole2_file_renamed_xlsx_is_named_for_what_it_is(tmp_path, stream, start):
    path = tmp_path / "p2e.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000 + stream.encode("utf-16-le") + b"\x00" * 500)
    assert rejected(path).problems[0].message.startswith(start)


def test_pdf_renamed_xlsx(tmp_path):
    path = tmp_path / "p2e.xlsx"
    path.write_bytes(b"%PDF-1.7\n" + b"0" * 100)
    assert rejected(path).problems[0].message.startswith("The file p2e.xlsx is a PDF document, not a spreadsheet")


def test_html_table_saved_as_xls_is_called_a_web_page(tmp_path):
    path = tmp_path / "export.xls"
    path.write_bytes(b"\xef\xbb\xbf <!DOCTYPE html><html><body><table><tr><td>MMS ID</td></tr></table></body></html>")
    message = rejected(path).problems[0].message
    assert "97-2003" not in message
    assert message == (
        "The file export.xls is a web page (an HTML table) with an .xls name, not an Excel workbook. Open it in "
        "Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.")


def test_shared_string_index_out_of_range(tmp_path):
    for bad in ("7", "-1"):
        rows = HEADER_XML + f'<row r="2"><c r="A2" t="s"><v>{bad}</v></c>' + inline("B2", "delete") + "</row>"
        exc = rejected(raw_workbook(tmp_path / "ss.xlsx", rows, strings=["only one"]))
        problem = exc.problems[0]
        assert (problem.sheet, problem.row, problem.column) == ("P2E", 2, "A")
        assert problem.message.startswith("The file ss.xlsx is damaged: this cell points to text that is not in "
                                          "the file.")


def run_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALMA", "P2E"))}
    return subprocess.run([sys.executable, str(PROJECT / "processor.py"), *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def test_damaged_workbooks_never_print_a_traceback(tmp_path):
    files = [
        zip_with(tmp_path / "binary.xlsx", {"[Content_Types].xml": CT, "xl/workbook.bin": b"\x83\x01"}),
        zip_with(tmp_path / "word.xlsx", {"[Content_Types].xml": CT, "word/document.xml": b"<w:document/>"}),
        raw_workbook(tmp_path / "index.xlsx", HEADER_XML + '<row r="2"><c r="A2" t="s"><v>99</v></c></row>'),
        raw_workbook(tmp_path / "ref.xlsx", HEADER_XML + data_row(2, extra='<c r="ZZZZZZZZZZ2"><v>1</v></c>')),
        raw_workbook(tmp_path / "digits.xlsx", HEADER_XML + data_row(2, extra=f'<c r="C2"><v>{"9" * 5000}</v></c>')),
    ]
    (tmp_path / "config.env").write_text(f"INBOX_DIR={tmp_path}\nOUTBOX_DIR={tmp_path / 'out'}\n"
                                         f"STATE_DIR={tmp_path / 'state'}\n")
    for path in files:
        done = run_cli("validate", str(path), "--config", str(tmp_path / "config.env"), cwd=tmp_path)
        output = done.stdout + done.stderr
        assert done.returncode == 2, output
        assert "Traceback" not in output and 'File "' not in output, output
        assert f"{path.name}: 1 problem(s) to fix" in done.stdout, output


# === point 15 (intake half): where the header row is ===========================================

def test_header_on_row_60_is_reported_as_too_far_down(tmp_path):
    rows = [[f"note {i}"] for i in range(59)] + [["MMS ID", "Action"], [MMS_1, "delete"]]
    exc = rejected(workbook(tmp_path, rows, name="deep.xlsx"))
    problem = exc.problems[0]
    assert (problem.sheet, problem.row) == ("P2E", 60)
    assert problem.message == (
        "The header row (the row with the Action heading) must be in the first 50 rows of the sheet; in sheet "
        "'P2E' it is on row 60. Delete some of the rows above it (title rows, notes, blank rows) so that the "
        "header is within the first 50 rows, and put the file back.")


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_settings_sheet_that_says_apply_is_a_problem(tmp_path, state):
    def add_settings(wb, ws):
        settings = wb.create_sheet("Settings")
        settings.append(["Setting", "Value"])
        settings.append(["Mode", "Apply"])
        settings.sheet_state = state

    sheet = read_workbook(workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "delete"]], change=add_settings))
    assert sheet.mode is None
    assert [(p.sheet, p.row, p.column) for p in sheet.problems] == [("Settings", 2, "B")]
    assert sheet.problems[0].message.startswith("Mode says Apply, but the sheet 'Settings' is hidden")


def test_a_hidden_settings_sheet_that_says_preview_is_fine(tmp_path):
    def add_settings(wb, ws):
        settings = wb.create_sheet("Settings")
        settings.append(["Mode", "Preview"])
        settings.sheet_state = "hidden"

    sheet = read_workbook(workbook(tmp_path, [["MMS ID", "Action"], [MMS_1, "delete"]], change=add_settings))
    assert sheet.problems == [] and sheet.mode is not None and sheet.mode.value == "preview"
