"""Opening the package with zipfile: the workbook part, sheet parts and states, 1904 dates, chart sheets."""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl

from p2e.intake import read_workbook
from .conftest import MMS, good_workbook, only_message, rewrite_member

NOT_A_WORKBOOK = ("The file {name} is not a readable Excel workbook, although its name ends in .xlsx: it may be "
                  "damaged, or another kind of file renamed. Open it in Excel, save it as 'Excel Workbook (.xlsx)', "
                  "and put it back in the folder.")


def dated(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["MMS ID", "Action", "Checked on"])
    ws.append([MMS, "delete", dt.datetime(2024, 3, 1)])
    wb.save(path)
    return path


def test_dates_are_read_with_their_style(tmp_path):
    sheet = read_workbook(dated(tmp_path / "p2e.xlsx"))
    assert sheet.rows[0].values[2] == dt.datetime(2024, 3, 1)


def test_a_workbook_using_the_1904_date_system(tmp_path):
    path = rewrite_member(dated(tmp_path / "base.xlsx"), tmp_path / "mac.xlsx", "xl/workbook.xml",
                          lambda data: data.replace(b"<workbookPr", b'<workbookPr date1904="1"', 1))
    assert read_workbook(path).rows[0].values[2] == dt.datetime(2024, 3, 1) + dt.timedelta(days=1462)


def test_chart_sheets_are_not_worksheets(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active.append(["Title", "Note"])  # no Action and no record column: not a staff sheet
    wb.create_chartsheet("Chart")
    path = tmp_path / "chart.xlsx"
    wb.save(path)
    assert "(looked at: 'Data')" in only_message(path)


def test_sheet_order_and_names_come_from_the_workbook_part(tmp_path):
    path = good_workbook(tmp_path / "p2e.xlsx", title="Annotated P2E")
    assert read_workbook(path).sheet_name == "Annotated P2E"


def drop_member(source, target, member):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            if info.filename != member:
                zout.writestr(info, zin.read(info.filename))
    return target


def test_a_package_without_its_workbook_relationships_is_not_a_workbook(tmp_path):
    path = drop_member(good_workbook(tmp_path / "base.xlsx"), tmp_path / "norels.xlsx", "xl/_rels/workbook.xml.rels")
    assert only_message(path) == NOT_A_WORKBOOK.format(name="norels.xlsx")


def test_a_package_that_names_no_workbook_part_is_not_a_workbook(tmp_path):
    path = rewrite_member(good_workbook(tmp_path / "base.xlsx"), tmp_path / "nowb.xlsx", "[Content_Types].xml",
                          lambda data: data.replace(b"sheet.main+xml", b"other+xml"))
    assert only_message(path) == NOT_A_WORKBOOK.format(name="nowb.xlsx")
