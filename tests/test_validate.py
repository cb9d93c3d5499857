"""Whole-file rules: each with its exact message and where it points (sheet, row, column, column name)."""
from __future__ import annotations

import openpyxl
import pytest

from p2e.config import Settings
from p2e.intake import read_workbook
from p2e.model import BibHandling, Problem
from p2e.validate import validate

from tests.conftest import read_rows

HEADER = ["Voyager Bib ID", "MMS ID", "Portfolio ID", "Action", "Bib handling", "Target MMS ID", "Target Portfolio ID"]
MMS_1, MMS_2, MMS_3 = "9917042712205899", "9917042812205899", "9917042912205899"
CZ_1, CZ_2 = "991234567890125899", "991234567890135899"
PID_1, PID_2, PID_3 = "53212785660005899", "53212785670005899", "53212785680005899"


def check(tmp_path, rows, header=HEADER, settings=None):
    return validate(read_rows(tmp_path, header, rows), settings or Settings())


def test_a_good_file_has_no_problems(tmp_path):
    assert check(tmp_path, [
        [None, MMS_1, PID_1, "delete", "delete", None, None],
        [None, MMS_2, PID_2, "relink", None, CZ_1, None],
        [None, MMS_3, None, "keep", None, None, None],
    ]) == []


def test_missing_columns_names_the_columns_found(tmp_path):
    problems = check(tmp_path, [["A title", "delete"]], header=["Title", "Action", None, "Notes"])
    assert problems == [Problem(
        "The sheet has no column for the record to work on: add a column headed MMS ID (or Portfolio ID, or "
        "Voyager Bib ID). Columns found: A (Title), B (Action), D (Notes).", sheet="P2E", row=1)]


def test_relink_without_a_target_column(tmp_path):
    problems = check(tmp_path, [[MMS_1, "delete"], [MMS_2, "relink"]], header=["MMS ID", "Action"])
    assert problems == [Problem(
        "Row 3 asks to relink, but the sheet has no Target MMS ID column (the record the PO line moves to): add a "
        "column headed Target MMS ID (or Target Portfolio ID) and fill it in for every relink row. Columns found: "
        "A (MMS ID), B (Action).", sheet="P2E", row=1)]


def test_unknown_action_names_the_allowed_values(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, None, "remove", None, None, None],
                                [None, MMS_2, None, "delete", None, None, None]])
    assert problems == [Problem("Unknown action 'remove': write delete, relink, group or keep.",
                                sheet="P2E", row=2, column="D", column_name="Action")]


def test_unknown_bib_handling(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, None, "delete", "destroy", None, None]])
    assert problems == [Problem(
        "Unknown bib handling 'destroy': write delete, suppress or keep (or leave it empty to use the usual "
        "setting).", sheet="P2E", row=2, column="E", column_name="Bib handling")]


def test_relink_without_a_target(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, PID_1, "relink", None, None, None]])
    assert problems == [Problem(
        "This row says relink but has no Target MMS ID: fill in the MMS ID of the record the PO line should move "
        "to (the Community Zone record you keep), or change the action.",
        sheet="P2E", row=2, column="F", column_name="Target MMS ID")]


def test_target_equal_to_source(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, PID_1, "relink", None, MMS_1, PID_1]])
    assert problems == [
        Problem("The Target MMS ID is the same as the MMS ID (9917042712205899): the target must be the other "
                "record (the Community Zone record you keep), not the P2E record being removed.",
                sheet="P2E", row=2, column="F", column_name="Target MMS ID"),
        Problem("The Target Portfolio ID is the same as the Portfolio ID (53212785660005899): the target must be "
                "the other portfolio (the Community Zone one you keep), not the P2E portfolio being removed.",
                sheet="P2E", row=2, column="G", column_name="Target Portfolio ID"),
    ]


def test_one_portfolio_two_actions(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, PID_1, "delete", None, None, None],
                                [None, MMS_1, PID_1, "keep", None, None, None]])
    assert problems == [Problem(
        "Portfolio 53212785660005899 is marked keep here but delete in row 2: give each portfolio one action "
        "(delete one of the two rows).", sheet="P2E", row=3, column="D", column_name="Action")]


def test_one_record_two_actions_without_portfolio_ids(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, None, "delete", None, None, None],
                                [None, MMS_1, None, "relink", None, CZ_1, None]])
    assert [p.message for p in problems] == [
        "The record with MMS ID 9917042712205899 is marked relink here but delete in row 2: give each portfolio "
        "one action (delete one of the two rows)."]


def test_relinked_to_two_targets(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, PID_1, "relink", None, CZ_1, None],
                                [None, MMS_1, PID_1, "relink", None, CZ_2, None]])
    assert problems == [Problem(
        "Portfolio 53212785660005899 is relinked to a different target here than in row 2: a portfolio's PO line "
        "can move to one record only; keep the right row and delete the other.",
        sheet="P2E", row=3, column="F", column_name="Target MMS ID")]


def test_duplicate_rows(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, PID_1, "delete", None, None, None],
                                [None, MMS_2, PID_2, "delete", None, None, None],
                                [None, MMS_1, PID_1, "Delete", None, None, None]])
    assert problems == [Problem(
        "This row repeats row 2 (portfolio 53212785660005899, delete): delete one of the two rows.",
        sheet="P2E", row=4, column="C", column_name="Portfolio ID")]


def test_portfolio_deleted_in_one_row_and_kept_as_target_in_another(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, PID_1, "delete", None, None, None],
                                [None, MMS_2, PID_2, "relink", None, CZ_1, PID_1]])
    assert problems == [Problem(
        "Portfolio 53212785660005899 is the relink target here, but row 2 deletes it: a portfolio cannot be both "
        "removed and kept. Check which portfolio is the P2E one.",
        sheet="P2E", row=3, column="G", column_name="Target Portfolio ID")]


def test_record_kept_as_target_but_deleted_by_another_row(tmp_path):
    rows = [[None, MMS_1, PID_1, "delete", "suppress", None, None],
            [None, MMS_2, PID_2, "relink", None, MMS_1, None]]
    assert check(tmp_path, rows) == [Problem(
        "Record 9917042712205899 is the relink target here, but row 2 removes its portfolio and suppresses the "
        "record: the record you keep cannot also be removed. Check which record is the P2E one.",
        sheet="P2E", row=3, column="F", column_name="Target MMS ID")]
    rows[0][4] = "keep"  # the bib stays: no conflict
    assert check(tmp_path, rows) == []


def test_empty_file(tmp_path):
    assert check(tmp_path, [[None] * 7, []]) == [Problem(
        "The sheet 'P2E' has a header row (row 1) but no rows below it: add the rows to process under the header "
        "and put the file back.", sheet="P2E", row=1)]


def test_only_keep_rows(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, None, "keep", None, None, None],
                                [None, MMS_2, None, None, None, None, None]])
    assert problems == [Problem(
        "Every row is marked keep (or has an empty Action cell), so there is nothing to do: write delete, relink "
        "or group in the Action column of the rows to change, and put the file back.",
        sheet="P2E", row=1, column="D", column_name="Action")]


def test_row_with_no_id_at_all(tmp_path):
    problems = check(tmp_path, [[None, None, None, "delete", None, None, None]])
    assert problems == [Problem(
        "This row says delete but has no MMS ID, Portfolio ID or Voyager Bib ID: fill in the MMS ID of the P2E "
        "record.", sheet="P2E", row=2, column="B", column_name="MMS ID")]


VOYAGER_ONLY = (
    "This row has only a Voyager Bib ID (5539966), and the processor has not been told how to find that record in "
    "Alma: fill in the MMS ID, or ask whoever runs the processor to add MMS_ID_SUFFIX (the digits after the bib ID "
    "in your MMS IDs, for example MMS_ID_SUFFIX=12205899) or OTHER_SYSTEM_ID_PATTERN (for example "
    "OTHER_SYSTEM_ID_PATTERN=(UIUdb){bib_id}) to config.env.")


def test_voyager_bib_id_only_needs_a_setting(tmp_path):
    rows = [[5539966, None, None, "delete", None, None, None]]
    assert check(tmp_path, rows) == [Problem(VOYAGER_ONLY, sheet="P2E", row=2, column="A", column_name="Voyager Bib ID")]
    assert check(tmp_path, rows, settings=Settings(mms_id_suffix="12205899")) == []
    assert check(tmp_path, rows, settings=Settings(other_system_id_pattern="(UIUdb){bib_id}")) == []


def test_carli_p2e_file_with_only_column_a(tmp_path):
    problems = check(tmp_path, [[5539966, "delete"]], header=["BIB_ID", "Action"])
    assert [(p.row, p.column, p.column_name, p.message) for p in problems] == [(2, "A", "BIB_ID", VOYAGER_ONLY)]


def test_institution_code_that_differs_from_the_rest(tmp_path):
    rows = [[None, m, None, "delete", None, None, None] for m in (MMS_1, MMS_2, MMS_3)]
    rows.append([None, "991084484299705816", None, "delete", None, None, None])  # a Network Zone MMS ID
    assert check(tmp_path, rows) == [Problem(
        "This MMS ID (991084484299705816) ends in 5816, but your institution's MMS IDs end in 5899: it belongs to "
        "another institution or to the Network Zone, or Excel changed it. Use your own institution's ID for this "
        "record.", sheet="P2E", row=5, column="B", column_name="MMS ID")]


def test_institution_code_from_settings(tmp_path):
    rows = [[None, MMS_1, None, "delete", None, None, None]]
    problems = check(tmp_path, rows, settings=Settings(mms_id_suffix="8805867"))
    assert [p.message for p in problems] == [
        "This MMS ID (9917042712205899) ends in 5899, but your institution's MMS IDs end in 5867: it belongs to "
        "another institution or to the Network Zone, or Excel changed it. Use your own institution's ID for this "
        "record."]


def test_no_clear_institution_code(tmp_path):
    rows = [[None, MMS_1, None, "delete", None, None, None],
            [None, "991084484299705816", None, "delete", None, None, None]]
    assert check(tmp_path, rows) == [Problem(
        "The MMS IDs in this file end in different institution codes (5899, 5816), so the processor cannot tell "
        "which is yours. Alma IDs end in the 4-digit code of the institution that owns them: use only your own "
        "institution's IDs.", sheet="P2E", row=1)]


def test_cell_problems_come_first_and_are_not_repeated(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, None, "relink", None, 9.91234e16, None]])
    assert [(p.column, p.message.split(":")[0]) for p in problems] == [
        ("F", "Excel rounded this Target MMS ID (it now reads 99123400000000000)")]


def test_validate_does_not_change_the_sheet(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    wb.active.append([None, MMS_1, None, "remove", None, None, None])
    path = tmp_path / "p2e.xlsx"
    wb.save(path)
    sheet = read_workbook(path)
    first = validate(sheet, Settings())
    assert validate(sheet, Settings()) == first and sheet.problems == []


@pytest.mark.parametrize("handling", [BibHandling.DELETE, BibHandling.SUPPRESS])
def test_default_bib_handling_from_settings_counts(tmp_path, handling):
    rows = [[None, MMS_1, PID_1, "delete", None, None, None],
            [None, MMS_2, PID_2, "relink", None, MMS_1, None]]
    assert len(check(tmp_path, rows, settings=Settings(bib_handling=handling))) == 1
    assert check(tmp_path, rows, settings=Settings(bib_handling=BibHandling.RETAIN)) == []


def test_a_portfolio_without_its_mms_id_or_voyager_id_is_a_problem(tmp_path):
    # Alma's API reaches a standalone portfolio only through its bib (GET /bibs/{mms_id}/portfolios/{id}).
    problems = check(tmp_path, [[None, None, PID_1, "delete", None, None, None]])
    assert problems == [Problem(
        f"This row has a Portfolio ID ({PID_1}) but no MMS ID: Alma finds a portfolio through its bib, so fill in "
        "the MMS ID of the P2E record (or its Voyager Bib ID).", sheet="P2E", row=2, column="B", column_name="MMS ID")]


def test_a_relink_target_portfolio_without_its_mms_id_is_a_problem(tmp_path):
    problems = check(tmp_path, [[None, MMS_1, PID_1, "relink", None, None, PID_2]])
    assert problems == [Problem(
        f"This row has a Target Portfolio ID ({PID_2}) but no Target MMS ID: the PO line moves to a record, so fill "
        "in the MMS ID of the record you keep (the Community Zone record that portfolio is on).",
        sheet="P2E", row=2, column="F", column_name="Target MMS ID")]
