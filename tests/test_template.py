"""The staff template: working dropdowns, Text ID columns, and it reads back through intake."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from p2e.config import Settings
from p2e.intake import read_workbook
from p2e.model import FIELD_LABELS, ID_FIELDS, Action, Mode
from p2e.template import COLUMNS, write_template
from p2e.validate import validate

COMMITTED = Path(__file__).resolve().parents[1] / "templates" / "P2E-cleanup-template.xlsx"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_template(tmp_path_factory.mktemp("template") / "sub" / "P2E-cleanup-template.xlsx")


def column_of(ws, header):
    for cell in ws[1]:
        if cell.value == header:
            return cell.column_letter
    raise AssertionError(f"no column {header!r}")


def validations(ws):
    return {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}


def test_sheets(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Instructions", "Actions", "Settings"]


def test_dropdowns_for_action_and_bib_handling(template):
    ws = openpyxl.load_workbook(template)["Actions"]
    dvs = validations(ws)
    action = dvs[f"{column_of(ws, 'Action')}2:{column_of(ws, 'Action')}1048576"]
    assert action.type == "list" and action.formula1 == '"delete,relink,group,keep"'
    assert action.showErrorMessage and action.showInputMessage
    handling = dvs[f"{column_of(ws, 'Bib handling')}2:{column_of(ws, 'Bib handling')}1048576"]
    assert handling.type == "list" and handling.formula1 == '"delete,suppress,keep"'


def test_every_column_has_a_note_and_an_input_message(template):
    ws = openpyxl.load_workbook(template)["Actions"]
    dvs = validations(ws)
    for cell in ws[1]:
        if cell.value is None:
            continue
        assert cell.comment is not None and cell.comment.text, cell.value
        dv = dvs[f"{cell.column_letter}2:{cell.column_letter}1048576"]
        assert dv.prompt and dv.promptTitle, cell.value


def test_id_columns_are_text(template):
    ws = openpyxl.load_workbook(template)["Actions"]
    id_headers = [FIELD_LABELS[f] for f in ID_FIELDS]
    assert len(id_headers) == 5
    for header in id_headers:
        letter = column_of(ws, header)
        index = openpyxl.utils.column_index_from_string(letter)
        dims = [d for d in ws.column_dimensions.values() if d.min <= index <= d.max]
        assert dims and dims[0].number_format == "@", header


def test_frozen_header_and_widths(template):
    ws = openpyxl.load_workbook(template)["Actions"]
    assert ws.freeze_panes == "A2"
    assert all(d.width and d.width > 10 for d in ws.column_dimensions.values())


def test_settings_sheet_mode_dropdown(template):
    ws = openpyxl.load_workbook(template)["Settings"]
    assert ws["A2"].value == "Mode" and ws["B2"].value == "Preview"
    assert ws["A3"].value == "Email results to"
    mode = validations(ws)["B2"]
    assert mode.type == "list" and mode.formula1 == '"Preview,Apply,Suggest"'
    assert ws["A4"].value == "Collections"


def test_instructions_explain_actions_preview_and_results(template):
    ws = openpyxl.load_workbook(template)["Instructions"]
    text = "\n".join(str(c.value) for c in ws["A"] if c.value)
    for words in ("What delete does", "What relink does", "What group does", "What keep does", "Preview first",
                  "Reading the results", "Change Bib Reference", "Paste Special > Values", "Next steps in Alma"):
        assert words in text


def test_template_reads_back_through_intake(template, tmp_path):
    sheet = read_workbook(template)
    assert (sheet.sheet_name, sheet.header_row, sheet.rows, sheet.mode) == ("Actions", 1, [], Mode.PREVIEW)
    assert sheet.headers == [c[0] for c in COLUMNS]
    assert set(sheet.columns) == set(FIELD_LABELS)

    # staff fill it in
    wb = openpyxl.load_workbook(template)
    ws = wb["Actions"]
    values = {"MMS ID": "9917042712205899", "Action": "relink", "Target MMS ID": "991234567890125899",
              "Title": "=Gale e-commerce sourcebook"}
    for header, value in values.items():
        ws[f"{column_of(ws, header)}2"] = value
    ws[f"{column_of(ws, 'Title')}2"].data_type = "s"
    wb["Settings"]["B2"] = "Apply"
    wb["Settings"]["B3"] = "cataloguer@library.edu"
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    sheet = read_workbook(filled)
    assert sheet.mode is Mode.APPLY and sheet.email_to == ["cataloguer@library.edu"]
    (row,) = sheet.rows
    assert (row.action, row.mms_id, row.target_mms_id) == (Action.RELINK, "9917042712205899", "991234567890125899")
    assert validate(sheet, Settings()) == []


def test_committed_template_is_current(template):
    assert COMMITTED.is_file(), "run: python processor.py template"
    assert COMMITTED.read_bytes() == template.read_bytes(), "templates/ is stale: run python processor.py template"
