"""Where the header row is: within the first 50 rows, and said where when it is further down."""
from __future__ import annotations

from .conftest import good_workbook, MMS, MMS_1, only_message, rejected, workbook


def test_header_too_far_down(tmp_path):
    rows = [[f"note {i}"] for i in range(60)] + [["MMS ID", "Action"], [MMS, "delete"]]
    path = good_workbook(tmp_path / "deep.xlsx", rows)
    assert only_message(path).startswith("The header row (the row with the Action heading) must be in the first 50 "
                                         "rows of the sheet; in sheet 'P2E' it is on row 61.")


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
