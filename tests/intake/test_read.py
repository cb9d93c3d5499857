"""Reading a whole file: ordinary annotated sheets end to end, and plain messages for any surprise."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from p2e import intake
from p2e.config import Settings
from p2e.intake import read_workbook
from p2e.model import Action, BibHandling, Mode
from p2e.validate import validate
from .conftest import CT, data_row, good_workbook, HEADER_XML, raw_workbook, rejected, run_cli, save, zip_with


SUFFIX = "5899"
MMS_1 = "99553996612205899"
MMS_2 = "9917042712205899"
CZ_1 = "991234567890125899"
PID_1 = "53212785660005899"
PID_2 = "53212785670005899"


SUFFIX = "5899"


MMS_1 = "99553996612205899"


MMS_2 = "9917042712205899"


CZ_1 = "991234567890125899"


PID_1 = "53212785660005899"


PID_2 = "53212785670005899"


def test_realistic_annotated_p2e_sheet(tmp_path):
    """Title rows above the header, CARLI's own columns kept in place, short IDs typed as numbers."""
    rows = [
        ["CARLI P2E report for XXX (production migration)"],
        ["Generated 2020-04-23", None, None, None, "Staff: mark each row"],
        [],
        ["BIB_ID", "Title", "ISSN/ISBN", "Location", "Type", "856 URL", "MMS ID", "PID", "Action", "Bib handling", "CZ MMS ID", "PO Line", "Staff note", "Decided on"],
        [5539966, "American history in video", "0123-4567", "UIU e-res", "Portfolio", "http://ahiv.alexanderstreet.com/x", MMS_1, PID_1, "Delete", "suppress", None, None, "dup of CZ", dt.datetime(2024, 3, 14)],
        [170427, "Gale e-commerce sourcebook", 9780787654321, "UIU e-res", "Portfolio", "http://gale.com/y", MMS_2, PID_2, " RELINK ", None, CZ_1, "POL-1234", None, None],
        [None, None, None, None, None, None, None, None, None, None, None, None, None, None],
        [4242, "Some database", None, "UIU e-res", "DB", None, "99424212205899", None, "keep", None, None, None, 7, 2.5],
    ]
    path = save(tmp_path, rows)
    sheet = read_workbook(path)
    assert sheet.sheet_name == "P2E"
    assert sheet.header_row == 4
    assert sheet.headers[0] == "BIB_ID" and sheet.headers[-1] == "Decided on"
    assert sheet.columns == {
        "voyager_bib_id": 0, "mms_id": 6, "portfolio_id": 7, "action": 8, "bib_handling": 9,
        "target_mms_id": 10, "po_line": 11,
    }
    assert [r.number for r in sheet.rows] == [5, 6, 8]
    first, second, third = sheet.rows
    assert first.values == ["5539966", "American history in video", "0123-4567", "UIU e-res", "Portfolio",
                            "http://ahiv.alexanderstreet.com/x", MMS_1, PID_1, "Delete", "suppress", None, None,
                            "dup of CZ", dt.datetime(2024, 3, 14)]
    assert (first.action, first.voyager_bib_id, first.mms_id, first.portfolio_id) == (Action.DELETE, "5539966", MMS_1, PID_1)
    assert first.bib_handling is BibHandling.SUPPRESS and first.bib_handling_text == "suppress"
    assert second.action is Action.RELINK and second.target_mms_id == CZ_1 and second.po_line == "POL-1234"
    assert second.values[2] == 9780787654321  # not an ID column: the original value
    assert third.action is Action.KEEP and third.mms_id == "99424212205899"  # 14 digits typed as a number
    assert third.values[12:] == [7, 2.5]
    assert sheet.problems == []
    assert validate(sheet, Settings()) == []


def test_header_synonyms_case_and_punctuation(tmp_path):
    path = save(tmp_path, [
        ["voyager bib id", "MMSID", "Portfolio_ID", "ACTION", "Keep MMS ID", "target portfolio id", "POL", "bib-handling"],
        ["1", MMS_1, PID_1, "relink", CZ_1, "53999999990005899", "POL-9", "Keep"],
    ])
    sheet = read_workbook(path)
    assert sheet.columns == {
        "voyager_bib_id": 0, "mms_id": 1, "portfolio_id": 2, "action": 3, "target_mms_id": 4,
        "target_portfolio_id": 5, "po_line": 6, "bib_handling": 7,
    }
    row = sheet.rows[0]
    assert row.bib_handling is BibHandling.RETAIN
    assert row.target_portfolio_id == "53999999990005899"


def test_settings_sheet_mode_and_email(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Actions"
    ws.append(["MMS ID", "Action"])
    ws.append([MMS_1, "delete"])
    settings = wb.create_sheet("Settings")
    settings.append(["Setting", "Value"])
    settings.append(["Mode", "Apply"])
    settings.append(["Email results to", "a@lib.edu; b@lib.edu,c@lib.edu"])
    path = tmp_path / "with-settings.xlsx"
    wb.save(path)
    sheet = read_workbook(path)
    assert sheet.mode is Mode.APPLY
    assert sheet.email_to == ["a@lib.edu", "b@lib.edu", "c@lib.edu"]


def test_csv_with_and_without_bom(tmp_path):
    text = f"MMS ID,Action,Title\n{MMS_1},delete,\"A, title\"\n\n9917042712205899.0 ,keep,B\n"
    for name, data in (("bom.csv", b"\xef\xbb\xbf" + text.encode()), ("plain.csv", text.encode())):
        path = tmp_path / name
        path.write_bytes(data)
        sheet = read_workbook(path)
        assert sheet.headers == ["MMS ID", "Action", "Title"]
        assert [(r.number, r.mms_id, r.action) for r in sheet.rows] == [(2, MMS_1, Action.DELETE), (4, MMS_2, Action.KEEP)]
        assert sheet.rows[0].values == [MMS_1, "delete", "A, title"]


@pytest.mark.parametrize("typed, expected", [
    (" Delete ", Action.DELETE), ("DELETE", Action.DELETE), ("re-link", Action.RELINK),
    ("Relink\u00a0", Action.RELINK), ("keep", Action.KEEP), (None, Action.KEEP),
])
def test_actions_forgiving(tmp_path, typed, expected):
    path = save(tmp_path, [["MMS ID", "Action"], [MMS_1, typed]])
    assert read_workbook(path).rows[0].action is expected


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
