"""The malformed-file corpus: every file that cannot be read gets one exact, plain message.

Each workbook is built here (openpyxl, xlsxwriter, zipfile or raw bytes) in tmp_path.
"""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import xlsxwriter

from p2e import intake
from p2e.intake import FileRejected, read_workbook
from p2e.model import Problem

MMS = "9917042712205899"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def good_workbook(path, rows=None, title="P2E"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows or [["MMS ID", "Action"], [MMS, "delete"]]:
        ws.append(row)
    wb.save(path)
    return path


def rejected(path, **kw) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        read_workbook(path, **kw)
    exc = info.value
    assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
    return exc


def only_message(path, **kw) -> str:
    exc = rejected(path, **kw)
    assert len(exc.problems) == 1
    assert str(exc) == str(exc.problems[0])
    return exc.problems[0].message


def rewrite_member(source, target, member, change):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == member:
                data = change(data)
            zout.writestr(info, data)
    return target


# --- not a workbook at all ---------------------------------------------------------------

def test_zero_bytes(tmp_path):
    path = tmp_path / "p2e.xlsx"
    path.write_bytes(b"")
    assert only_message(path) == (
        "The file p2e.xlsx is empty (0 bytes). It may still have been copying when it was read, or it was not "
        "saved properly: open it in Excel, save it again, and put it back in the folder.")


def test_over_the_size_limit(tmp_path):
    path = good_workbook(tmp_path / "big.xlsx")
    size = path.stat().st_size / 1024 / 1024
    assert only_message(path, max_file_mb=0.001) == (
        f"The file big.xlsx is {size:.1f} MB, over the limit of 0.001 MB. Split the rows into several smaller "
        "files and put them in the folder one at a time.")


def test_not_a_zip(tmp_path):
    path = tmp_path / "p2e.xlsx"
    path.write_bytes(b"MMS ID,Action\n9917042712205899,delete\n")
    assert only_message(path) == (
        "The file p2e.xlsx is not a readable Excel workbook, although its name ends in .xlsx: it may be damaged, "
        "or another kind of file renamed. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and put it back "
        "in the folder.")


def test_password_protected_workbook(tmp_path):
    """Excel saves an encrypted .xlsx as an OLE2 compound file (D0 CF 11 E0)."""
    path = tmp_path / "secret.xlsx"
    path.write_bytes(OLE2 + b"\x00" * 4096)
    assert only_message(path) == (
        "The file secret.xlsx is protected with a password, so it cannot be read. Open it in Excel, remove the "
        "password (File > Info > Protect Workbook > Encrypt with Password, clear the password, OK), save it, and "
        "put it back in the folder.")


def test_password_protected_xlsm(tmp_path):
    path = tmp_path / "macro.xlsm"
    path.write_bytes(OLE2 + b"\x00" * 512)
    assert only_message(path).startswith("The file macro.xlsm is protected with a password, so it cannot be read.")


def test_old_xls(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(OLE2 + b"\x00" * 4096)
    assert only_message(path) == (
        "The file old.xls is an old Excel 97-2003 workbook (.xls), which the processor cannot read. Open it in "
        "Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.")


def test_html_saved_as_xls(tmp_path):
    path = tmp_path / "export.xls"
    path.write_bytes(b"<html><body><table><tr><td>MMS ID</td></tr></table></body></html>")
    assert only_message(path).startswith("The file export.xls is a web page (an HTML table) with an .xls name")


def test_xlsx_renamed_to_xls_is_read(tmp_path):
    path = good_workbook(tmp_path / "renamed.xls")
    assert read_workbook(path).rows[0].mms_id == MMS


def test_numbers_file(tmp_path):
    path = tmp_path / "p2e.numbers"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Index/Document.iwa", b"\x00\x01")
    assert only_message(path) == (
        "The file p2e.numbers is an Apple Numbers file, which the processor cannot read. In Numbers choose "
        "File > Export To > Excel, and put the .xlsx file in the folder.")


def test_numbers_package_folder(tmp_path):
    path = tmp_path / "p2e.numbers"
    (path / "Index").mkdir(parents=True)
    assert only_message(path).startswith("The file p2e.numbers is an Apple Numbers file")


def test_numbers_file_renamed_to_xlsx(tmp_path):
    path = tmp_path / "p2e.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Index/Document.iwa", b"\x00\x01")
    assert only_message(path).startswith("The file p2e.xlsx is an Apple Numbers file")


def test_xlsb(tmp_path):
    path = tmp_path / "p2e.xlsb"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.bin", b"\x00")
    assert only_message(path) == (
        "The file p2e.xlsb is an Excel Binary Workbook (.xlsb), which the processor cannot read. Open it in Excel, "
        "choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.")


def test_ods(tmp_path):
    path = tmp_path / "p2e.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert only_message(path) == (
        "The file p2e.ods is an OpenDocument spreadsheet (.ods), which the processor cannot read. Save it as "
        "'Excel 2007-365 (.xlsx)' and put the .xlsx file in the folder.")


def test_other_file_type(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    assert only_message(path) == (
        "The file notes.pdf is not a spreadsheet the processor reads: it reads .xlsx, .xlsm and .csv files. "
        "Save your spreadsheet as 'Excel Workbook (.xlsx)' and put that file in the folder.")


def test_file_gone(tmp_path):
    assert only_message(tmp_path / "gone.xlsx") == (
        "The file gone.xlsx is no longer in the folder. If you moved or renamed it, put it back and wait for "
        "the next run.")


def test_still_being_copied(tmp_path):
    """A zip cut short: the central directory at the end is missing (BadZipFile)."""
    data = good_workbook(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "copying.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert only_message(path) == (
        "The file copying.xlsx is incomplete: it was probably still being copied into the folder when it was "
        "read. Wait until the copy has finished and put it in the folder again; if this keeps happening, open it "
        "in Excel, save it again, and put it back.")


def test_still_being_copied_zero_filled_tail(tmp_path):
    """Some copy tools preallocate the file: the right size, but the end is still zeros."""
    data = good_workbook(tmp_path / "whole.xlsx").read_bytes()
    path = tmp_path / "copying.xlsx"
    path.write_bytes(data[: len(data) - 300] + b"\x00" * 300)
    assert only_message(path).startswith("The file copying.xlsx is incomplete")


def test_zip_but_not_a_workbook(tmp_path):
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("photo.txt", "not a spreadsheet")
    assert only_message(path) == (
        "The file photos.xlsx is not a readable Excel workbook, although its name ends in .xlsx: it may be "
        "damaged, or another kind of file renamed. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and "
        "put it back in the folder.")


def test_damaged_sheet_xml(tmp_path):
    source = good_workbook(tmp_path / "good.xlsx")
    path = rewrite_member(source, tmp_path / "damaged.xlsx", "xl/worksheets/sheet1.xml", lambda b: b[: len(b) // 2])
    assert only_message(path) == (
        "The file damaged.xlsx is damaged: part of it cannot be read. Open it in Excel (let Excel repair it if it "
        "offers to), check the rows, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.")


def test_xml_entity_bomb_is_refused_safely(tmp_path):
    """defusedxml stops 'billion laughs' entity expansion; the file gets a plain message."""
    source = good_workbook(tmp_path / "good.xlsx")

    def bomb(data: bytes) -> bytes:
        doctype = (b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
                   b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')
        end = data.index(b"?>") + 2 if data.startswith(b"<?xml") else 0
        return data[:end] + doctype + data[end:].replace(b"<v>", b"<v>&c;", 1)

    path = rewrite_member(source, tmp_path / "bomb.xlsx", "xl/worksheets/sheet1.xml", bomb)
    assert only_message(path) == (
        "The file bomb.xlsx contains XML features the processor refuses to read for safety (entity or document "
        "type declarations), which Excel never writes. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and "
        "put it back in the folder.")


def test_zip_bomb_unpacks_too_big(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (4 * 1024 * 1024))
    assert path.stat().st_size < 0.1 * 1024 * 1024
    assert only_message(path, max_file_mb=0.1) == (
        "The file bomb.xlsx unpacks to 4 MB of data, over the limit of 2.5 MB. Split the rows into several "
        "smaller files and put them in the folder one at a time.")


# --- a workbook, but not one the processor can use -------------------------------------------

def test_no_sheet_with_an_action_column(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "P2E"
    wb.active.append(["BIB_ID", "Title", "MMS ID"])
    wb.create_sheet("Notes").append(["Action items for Tuesday: check the list"])
    path = tmp_path / "p2e.xlsx"
    wb.save(path)
    assert only_message(path) == (
        "No sheet in p2e.xlsx has a column headed Action (looked at: 'P2E', 'Notes'). Add a column headed Action "
        "next to your P2E columns and write delete, relink or keep in it for each row, or copy your rows into the "
        "template.")


def test_header_too_far_down(tmp_path):
    rows = [[f"note {i}"] for i in range(60)] + [["MMS ID", "Action"], [MMS, "delete"]]
    path = good_workbook(tmp_path / "deep.xlsx", rows)
    assert only_message(path).startswith("The header row (the row with the Action heading) must be in the first 50 "
                                         "rows of the sheet; in sheet 'P2E' it is on row 61.")


def test_several_sheets_with_an_action_column(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "P2E"
    wb.active.append(["MMS ID", "Action"])
    wb.create_sheet("Copy of P2E").append(["MMS ID", "ACTION"])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    assert only_message(path) == (
        "More than one sheet in two.xlsx has an Action column ('P2E', 'Copy of P2E'), so the processor cannot "
        "tell which one to use. Keep the Action column on one sheet only (delete the other copies or rename their "
        "Action heading) and put the file back.")


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


def test_unexpected_error_becomes_a_plain_message(tmp_path, monkeypatch):
    path = good_workbook(tmp_path / "p2e.xlsx")

    def boom(*args, **kwargs):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(intake.rows, "build_sheet", boom)
    exc = rejected(path)
    assert str(exc) == (
        "The processor could not read the file p2e.xlsx. Open it in Excel, save it again as 'Excel Workbook "
        "(.xlsx)', and put it back in the folder. If this keeps happening, send the file to the team that runs "
        "the processor.")
    assert "RuntimeError" not in str(exc)


def test_csv_in_an_unknown_encoding_is_still_read(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("MMS ID,Action,Title\n9917042712205899,delete,Caf\xe9\n".encode("cp1252"))
    assert read_workbook(path).rows[0].values == [MMS, "delete", "Caf\u00e9"]


def test_binary_junk_named_csv(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\x00\x01\x02\x03" * 100)
    assert only_message(path) == (
        "The file junk.csv is not a text file the processor can read (it is not in UTF-8 or Windows text "
        "encoding). Open it in Excel and save it as 'Excel Workbook (.xlsx)' or 'CSV UTF-8', and put that file "
        "in the folder.")


def test_summary_counts_further_problems():
    exc = FileRejected([Problem("First."), Problem("Second."), Problem("Third.")])
    assert str(exc) == "First. (and 2 more problems)"
    assert str(FileRejected("Just one.")) == "Just one."


@pytest.mark.parametrize("prolog", [
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
    b'<?xml version="1.0"?><!-- a comment first -->',
])
def test_entity_declarations_in_shared_strings_are_refused(tmp_path, prolog):
    """Shared strings are parsed by intake's fast reader: it must refuse DTDs just like defusedxml."""
    source = tmp_path / "good.xlsx"
    wb = xlsxwriter.Workbook(str(source))  # xlsxwriter stores texts in xl/sharedStrings.xml
    ws = wb.add_worksheet("P2E")
    ws.write_string(0, 0, "MMS ID")
    ws.write_string(0, 1, "Action")
    ws.write_string(1, 0, MMS)
    ws.write_string(1, 1, "delete")
    wb.close()

    def bomb(data: bytes) -> bytes:
        body = data[data.index(b"<sst"):]
        doctype = b'<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        return prolog + doctype + body.replace(b"<t>delete", b"<t>&b;delete", 1)

    path = rewrite_member(source, tmp_path / "bomb.xlsx", "xl/sharedStrings.xml", bomb)
    assert only_message(path).startswith(
        "The file bomb.xlsx contains XML features the processor refuses to read for safety")
