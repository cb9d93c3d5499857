"""Choosing the action sheet of a workbook: exactly one sheet has an Action column."""
from __future__ import annotations

import openpyxl

from .conftest import only_message


# --- a workbook, but not one the processor can use -------------------------------------------

def test_no_sheet_with_an_action_column(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "P2E"
    wb.active.append(["Title", "Author"])  # no record column either (a BIB_ID or MMS ID column asks for suggestions)
    wb.create_sheet("Notes").append(["Action items for Tuesday: check the list"])
    path = tmp_path / "p2e.xlsx"
    wb.save(path)
    assert only_message(path) == (
        "No sheet in p2e.xlsx has a column headed Action (looked at: 'P2E', 'Notes'). Add a column headed Action "
        "next to your P2E columns and write delete, relink or keep in it for each row, or copy your rows into the "
        "template.")


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
