"""What a file really is: every file that is not a workbook or CSV file gets one exact, plain message, named for what it is."""
from __future__ import annotations

import zipfile

import pytest

from p2e.intake import read_workbook
from .conftest import CT, good_workbook, MMS, OLE2, only_message, rejected, zip_with


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


def test_an_xls_that_is_no_workbook_inside_is_refused_as_an_unreadable_xls(tmp_path):
    """Real .xls workbooks are read (see test_xls.py); an OLE2 file with no workbook inside is not."""
    path = tmp_path / "old.xls"
    path.write_bytes(OLE2 + b"\x00" * 4096)
    assert only_message(path) == (
        "The file old.xls is an old Excel 97-2003 workbook (.xls) that cannot be read: it is damaged, incomplete or "
        "not really a workbook. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the "
        ".xlsx file in the folder.")


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


def test_ods_with_no_content(tmp_path):  # an .ods file is read (tests/intake/test_ods.py); this one is empty
    path = tmp_path / "p2e.ods"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert only_message(path) == (
        "The file p2e.ods is not a readable Excel workbook, although its name ends in .ods: it may be damaged, "
        "or another kind of file renamed. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and put it back "
        "in the folder.")


def test_other_file_type(tmp_path):
    path = tmp_path / "notes.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    assert only_message(path) == (
        "The file notes.pdf is not a spreadsheet the processor reads: it reads .xlsx, .xlsm, .xls, .ods and .csv files. "
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


def test_zip_bomb_unpacks_too_big(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (4 * 1024 * 1024))
    assert path.stat().st_size < 0.1 * 1024 * 1024
    assert only_message(path, max_file_mb=0.1) == (
        "The file bomb.xlsx unpacks to 4 MB of data, over the limit of 2.5 MB. Split the rows into several "
        "smaller files and put them in the folder one at a time.")


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
