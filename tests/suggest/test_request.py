"""A suggestion request as intake reads it: a raw P2E report (no Action column), Mode = Suggest, Collections."""
from __future__ import annotations

import openpyxl

from p2e.intake import read_workbook
from p2e.intake.headers import identifier_columns
from p2e.model import Mode


def raw_report(path, rows=(("5539966", "Quiet rivers", "1421400839 (pbk.)", "ocn190789234", "http://x.example.edu/a"),)):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["UIU P2E report - e-resources"])
    ws.append(["BIB_ID", "Title", "ISBN/ISSN", "OCLC Number", "856 URL"])
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def test_a_raw_p2e_report_without_an_action_column_is_read(tmp_path):
    sheet = read_workbook(raw_report(tmp_path / "UIU P2E.xlsx"))
    assert sheet.header_row == 2 and "action" not in sheet.columns
    assert [r.voyager_bib_id for r in sheet.rows] == ["5539966"]
    assert sheet.rows[0].action is None and sheet.rows[0].action_text == ""
    assert sheet.problems == []
    assert identifier_columns(sheet.headers) == {"title": 1, "isbn": 2, "oclc": 3, "url": 4}


def test_csv_raw_report_is_read(tmp_path):
    path = tmp_path / "p2e.csv"
    path.write_text("BIB_ID,Title,ISBN\n5539966,Quiet rivers,1421400839\n", encoding="utf-8")
    sheet = read_workbook(path)
    assert [r.voyager_bib_id for r in sheet.rows] == ["5539966"] and "action" not in sheet.columns


def test_an_action_sheet_wins_over_a_sheet_with_only_ids(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Work"
    wb.active.append(["MMS ID", "Action"])
    wb.active.append(["99553996612205899", "keep"])
    wb.create_sheet("Lookup").append(["BIB_ID", "Title"])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    assert read_workbook(path).sheet_name == "Work"


def test_settings_mode_suggest_and_collections(tmp_path):
    path = raw_report(tmp_path / "p2e.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Settings")
    ws.append(["Mode", "Suggest"])
    ws.append(["Collections", "61100012205899; Alexander Street Press American History in Video"])
    wb.save(path)
    sheet = read_workbook(path)
    assert sheet.mode is Mode.SUGGEST
    assert sheet.collections == ["61100012205899", "Alexander Street Press American History in Video"]
