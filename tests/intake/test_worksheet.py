"""Cell values as a sheet holds them: IDs typed as numbers or text, dates, errors, damaged cells."""
from __future__ import annotations

import datetime as dt

import openpyxl
import xlsxwriter

from p2e.intake import read_workbook
from p2e.model import Action, Problem
from p2e.xlsx import text_format, write_text
from .conftest import good_workbook, HEADER_XML, inline, only_message, raw_workbook, rejected, rewrite_member, save


MMS = "9917042712205899"
PID = "53212785660005899"


MMS = "9917042712205899"


PID = "53212785660005899"


def build(tmp_path, rows, name="p2e.xlsx", title="P2E", number_formats=None):
    return read_workbook(save(tmp_path, rows, name=name, title=title, formats=number_formats))


def test_rounded_mms_id_is_a_problem_at_its_cell(tmp_path):
    sheet = build(tmp_path, [["Title", "MMS ID", "Action"], ["A", 9.91704271220589e15, "delete"]])
    assert sheet.problems == [Problem(
        "Excel rounded this MMS ID (it now reads 9917042712205890): format the column as Text and paste the IDs "
        "again. Excel keeps only 15 digits of a number, so the last digits of the ID were lost.",
        sheet="P2E", row=2, column="B", column_name="MMS ID")]
    row = sheet.rows[0]
    assert row.mms_id is None
    assert row.values == ["A", "9917042712205890", "delete"]  # shown as text, never a float


def test_scientific_notation_number_and_text(tmp_path):
    sheet = build(tmp_path, [
        ["MMSID", "PID", "Action"],
        [9.91234e16, "5.32128E+16", "delete"],
    ], number_formats={"A2": "0.00E+00"})
    assert [(p.row, p.column, p.column_name, p.message) for p in sheet.problems] == [
        (2, "A", "MMSID", "Excel rounded this MMS ID (it now reads 99123400000000000): format the column as Text and "
                          "paste the IDs again. Excel keeps only 15 digits of a number, so the last digits of the ID "
                          "were lost."),
        (2, "B", "PID", "This Portfolio ID is in scientific notation (5.32128E+16), so its last digits are lost: "
                        "format the column as Text and paste the IDs again."),
    ]


def test_date_in_an_id_column(tmp_path):
    sheet = build(tmp_path, [["BIB_ID", "MMS ID", "Action"], [dt.datetime(2020, 6, 30), MMS, "delete"]])
    assert sheet.problems == [Problem(
        "Excel turned this Voyager Bib ID into a date or time (2020-06-30): format the column as Text and type or "
        "paste the ID again.", sheet="P2E", row=2, column="A", column_name="BIB_ID")]


def test_excel_error_value_in_an_id_column(tmp_path):
    path = tmp_path / "errors.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("P2E")
    for col, header in enumerate(["MMS ID", "Action", "CZ MMS ID"]):
        ws.write_string(0, col, header)
    ws.write_string(1, 0, MMS)
    ws.write_string(1, 1, "relink")
    ws.write_formula(1, 2, "=VLOOKUP(A2,Other!A:B,2,FALSE)", None, "#N/A")
    wb.close()
    sheet = read_workbook(path)
    assert sheet.problems == [Problem(
        "This Target MMS ID cell shows the Excel error #N/A instead of an ID: put the ID itself in the cell (copy "
        "the column and use Paste Special > Values).", sheet="P2E", row=2, column="C", column_name="CZ MMS ID")]


def test_ids_in_the_wrong_column(tmp_path):
    sheet = build(tmp_path, [["MMS ID", "Portfolio ID", "Action"], [PID, MMS, "delete"]])
    assert [(p.column, p.message) for p in sheet.problems] == [
        ("A", "This MMS ID (53212785660005899) does not look like a bib MMS ID: bib MMS IDs start with 99, for "
              "example 9917042712205899. It looks like a portfolio ID: put it in the Portfolio ID column."),
        ("B", "This Portfolio ID (9917042712205899) does not look like a portfolio ID: portfolio IDs start with 53, "
              "for example 53212785660002561. It looks like an MMS ID: put it in the MMS ID column."),
    ]


def test_noise_is_cleaned_silently(tmp_path):
    sheet = build(tmp_path, [
        ["MMS ID", "Portfolio ID", "Action", "Voyager Bib ID"],
        [f"\u00a0{MMS} ", f"'{PID}", "Delete", "5539966.0"],
        [f"{MMS}.0", None, "KEEP ", 170427],
    ])
    assert sheet.problems == []
    first, second = sheet.rows
    assert (first.mms_id, first.portfolio_id, first.voyager_bib_id) == (MMS, PID, "5539966")
    assert first.values == [MMS, PID, "Delete", "5539966"]
    assert (second.mms_id, second.voyager_bib_id, second.action) == (MMS, "170427", Action.KEEP)


def test_damaged_ids_on_keep_rows_are_not_problems(tmp_path):
    """Nothing is sent to Alma for keep (or unmarked) rows, so their IDs cannot do harm."""
    sheet = build(tmp_path, [["MMS ID", "Action"], [9.91234e16, "keep"], [9.91234e16, None], [MMS, "delete"]])
    assert sheet.problems == []
    assert [r.values[0] for r in sheet.rows[:2]] == ["99123400000000000", "99123400000000000"]


def test_text_formatted_column_of_numbers_stays_exact(tmp_path):
    """IDs typed into Text-formatted cells are strings in the file: read exactly."""
    path = tmp_path / "text.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("P2E")
    ws.set_column(0, 0, 20, text_format(wb))
    write_text(ws, 0, 0, "MMS ID")
    write_text(ws, 0, 1, "Action")
    write_text(ws, 1, 0, "991084484299705899")
    write_text(ws, 1, 1, "delete")
    wb.close()
    assert read_workbook(path).rows[0].mms_id == "991084484299705899"


def test_two_columns_for_the_same_field(tmp_path):
    sheet = build(tmp_path, [["MMS ID", "Action", "MMSID"], [MMS, "delete", MMS]])
    assert sheet.problems == [Problem(
        "Two columns could be the MMS ID column: A (MMS ID) and C (MMSID). Rename or delete one of them so the "
        "processor knows which to use.", sheet="P2E", row=1, column="C", column_name="MMSID")]


def test_settings_sheet_problems(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Actions"
    wb.active.append(["MMS ID", "Action"])
    wb.active.append([MMS, "delete"])
    ws = wb.create_sheet("Settings")
    ws.append(["Setting", "Value"])
    ws.append(["Mode", "Go"])
    ws.append(["Email results to", "me@lib.edu, not-an-address"])
    path = tmp_path / "p2e.xlsx"
    wb.save(path)
    sheet = read_workbook(path)
    assert sheet.mode is None
    assert sheet.email_to == ["me@lib.edu"]
    assert sheet.problems == [
        Problem("Mode 'Go' is not Preview, Apply or Suggest: choose Preview (nothing changes in Alma), Apply, or Suggest (fill in the actions for you to check) from the list.",
                sheet="Settings", row=2, column="B", column_name="Mode"),
        Problem("'not-an-address' is not an email address: write addresses like name@library.edu, separated by "
                "commas.", sheet="Settings", row=3, column="B", column_name="Email results to"),
    ]


def test_xlsm_is_read(tmp_path):
    path = tmp_path / "macro.xlsm"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("P2E")
    for col, text in enumerate(["MMS ID", "Action"]):
        write_text(ws, 0, col, text)
        write_text(ws, 1, col, [MMS, "delete"][col])
    wb.close()
    assert read_workbook(path).rows[0].mms_id == MMS


def test_csv_sci_notation_semicolons_and_bom(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffMMS ID;Action\n9,91234E+16;delete\n".encode("utf-8"))
    sheet = read_workbook(path)
    assert sheet.headers == ["MMS ID", "Action"]
    assert sheet.problems == [Problem(
        "This MMS ID is in scientific notation (9,91234E+16), so its last digits are lost: format the column as "
        "Text and paste the IDs again.", sheet="export", row=2, column="A", column_name="MMS ID")]


def test_title_starting_with_equals_is_read_as_text(tmp_path):
    path = tmp_path / "eq.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("P2E")
    for col, text in enumerate(["MMS ID", "Action", "Title"]):
        write_text(ws, 0, col, text)
    write_text(ws, 1, 0, MMS)
    write_text(ws, 1, 1, "delete")
    write_text(ws, 1, 2, "=Equals: a history")
    wb.close()
    assert read_workbook(path).rows[0].values[2] == "=Equals: a history"


def test_shared_string_index_out_of_range(tmp_path):
    for bad in ("7", "-1"):
        rows = HEADER_XML + f'<row r="2"><c r="A2" t="s"><v>{bad}</v></c>' + inline("B2", "delete") + "</row>"
        exc = rejected(raw_workbook(tmp_path / "ss.xlsx", rows, strings=["only one"]))
        problem = exc.problems[0]
        assert (problem.sheet, problem.row, problem.column) == ("P2E", 2, "A")
        assert problem.message.startswith("The file ss.xlsx is damaged: this cell points to text that is not in "
                                          "the file.")


def test_damaged_sheet_xml(tmp_path):
    source = good_workbook(tmp_path / "good.xlsx")
    path = rewrite_member(source, tmp_path / "damaged.xlsx", "xl/worksheets/sheet1.xml", lambda b: b[: len(b) // 2])
    assert only_message(path) == (
        "The file damaged.xlsx is damaged: part of it cannot be read. Open it in Excel (let Excel repair it if it "
        "offers to), check the rows, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.")
