"""The Settings sheet: a hidden one that says Apply is a problem."""
from __future__ import annotations

import pytest

from p2e.intake import read_workbook
from .conftest import MMS_1, workbook


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
