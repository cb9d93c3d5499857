"""The group action in intake, validation and plan (issue 14): its columns, its rules and their exact messages."""
from __future__ import annotations

import openpyxl

from p2e.config import Settings
from p2e.intake import read_workbook
from p2e.intake.headers import field_for_header
from p2e.model import Action, Problem
from p2e.plan import plan
from p2e.validate import validate

from tests.conftest import read_rows

HEADER = ["MMS ID", "Portfolio ID", "Action", "Bib handling", "Collection", "Service"]
MMS_1, MMS_2 = "9917042712205899", "9917042812205899"
PID_1, PID_2 = "53212785660005899", "53212785670005899"
COLL = "61212785660005899"


def sheet_of(tmp_path, rows, header=HEADER):
    return read_rows(tmp_path, header, rows)


def check(tmp_path, rows, header=HEADER, settings=None):
    return validate(sheet_of(tmp_path, rows, header), settings or Settings())


def test_group_is_an_action_word_and_its_columns_are_found_by_their_usual_headings():
    assert Action.parse(" Group ") is Action.GROUP
    assert [field_for_header(h) for h in ("Collection", "Collection ID", "Local collection", "E-collection",
                                          "Service", "Service ID", "E-service")] == \
        ["collection", "collection", "collection", "collection", "service", "service", "service"]


def test_a_good_group_file_has_no_problems_and_plans_the_collection_and_service(tmp_path):
    sheet = sheet_of(tmp_path, [[MMS_1, PID_1, "group", None, "P2E e-books", None],
                                [MMS_2, PID_2, "group", "keep", COLL, "Main service"]])
    assert validate(sheet, Settings()) == []
    tasks = plan(sheet, Settings())
    assert [(t.action, t.collection, t.service) for t in tasks] == [
        (Action.GROUP, "P2E e-books", None), (Action.GROUP, COLL, "Main service")]


def test_a_group_row_without_a_collection(tmp_path):
    problems = check(tmp_path, [[MMS_1, PID_1, "group", None, None, None]])
    assert problems == [Problem(
        "This row says group but has no Collection: fill in the ID (it starts with 61) or the public name of the "
        "local electronic collection the portfolio should move into.",
        sheet="P2E", row=2, column="E", column_name="Collection")]


def test_group_rows_without_a_collection_column(tmp_path):
    problems = check(tmp_path, [[MMS_1, PID_1, "delete"], [MMS_2, PID_2, "group"]],
                     header=["MMS ID", "Portfolio ID", "Action"])
    assert problems == [Problem(
        "Row 3 asks to group, but the sheet has no Collection column: add a column headed Collection and fill in, "
        "for every group row, the ID (it starts with 61) or the public name of the local electronic collection. "
        "Columns found: A (MMS ID), B (Portfolio ID), C (Action).", sheet="P2E", row=1)]


def test_a_group_row_that_asks_to_delete_or_suppress_the_bib(tmp_path):
    problems = check(tmp_path, [[MMS_1, PID_1, "group", "delete", COLL, None]])
    assert problems == [Problem(
        "This row says group, which keeps the bib (only the portfolio moves into the collection), but its Bib "
        "handling says delete: clear the Bib handling cell, or write keep.",
        sheet="P2E", row=2, column="D", column_name="Bib handling")]


def test_a_collection_id_excel_rounded(tmp_path):
    problems = check(tmp_path, [[MMS_1, PID_1, "group", None, 61212785660005899, None]])
    assert problems == [Problem(
        "Excel rounded this Collection ID (it now reads 61212785660005904): format the column as Text and paste "
        "the ID again, or write the collection's public name instead. Excel keeps only 15 digits of a number.",
        sheet="P2E", row=2, column="E", column_name="Collection")]


def test_one_portfolio_grouped_into_two_collections(tmp_path):
    problems = check(tmp_path, [[MMS_1, PID_1, "group", None, COLL, None],
                                [MMS_1, PID_1, "group", None, "Other collection", None]])
    assert problems == [Problem(
        f"Portfolio {PID_1} is grouped into a different collection here than in row 2: a portfolio can go into "
        "one collection only; keep the right row and delete the other.",
        sheet="P2E", row=3, column="E", column_name="Collection")]


def test_group_keeps_the_bib_so_a_relink_target_on_that_bib_is_fine(tmp_path):
    header = ["MMS ID", "Portfolio ID", "Action", "Collection", "Target MMS ID"]
    assert check(tmp_path, [[MMS_1, PID_1, "group", COLL, None],
                            [MMS_2, PID_2, "relink", None, MMS_1]], header=header,
                 settings=Settings(bib_handling=Settings().bib_handling)) == []


def test_unknown_action_now_names_group_too(tmp_path):
    problems = check(tmp_path, [[MMS_1, PID_1, "remove", None, None, None], [MMS_2, PID_2, "delete", None, None, None]])
    assert [p.message for p in problems] == ["Unknown action 'remove': write delete, relink, group or keep."]


def test_a_hidden_collection_column_that_group_rows_use_is_refused(tmp_path):
    from p2e.intake.messages import FileRejected
    import pytest

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(HEADER)
    ws.append([MMS_1, PID_1, "group", None, "P2E e-books", None])
    ws.column_dimensions["E"].hidden = True
    path = tmp_path / "hidden.xlsx"
    wb.save(path)
    with pytest.raises(FileRejected) as caught:
        read_workbook(path)
    assert str(caught.value.problems[0].message).startswith(
        "The Collection column (column E) is hidden, and 1 row that changes Alma depends on it (row 2).")
