"""The Next steps in Alma sheet (group rows only) and the set-ready ID files beside every run's results (issue 14)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl

from p2e.alma.errors import AlmaErrorInfo
from p2e.model import ACTIVE_ORDER_STEP, Action, Grouped, Outcome, Row, RowResult, Sheet
from p2e.pipeline import process_file
from p2e.report import RunInfo, write_results
from p2e.report.next_steps import SHEET

from tests.run.test_group import LOCAL, group_book, group_sandbox  # noqa: F401  (a fixture)


def sheet_with(rows: list[Row]) -> Sheet:
    return Sheet(source=Path("p2e.xlsx"), sheet_name="P2E", header_row=1, headers=["MMS ID", "Action"],
                 columns={"mms_id": 0, "action": 1}, rows=rows)


def row(number: int, action: Action) -> Row:
    return Row(number, [f"99{number}5899", action.value], action=action, action_text=action.value)


def info() -> RunInfo:
    return RunInfo("p2e.xlsx", "Apply", "sandbox", datetime(2026, 11, 30, 12), datetime(2026, 11, 30, 12, 1), "run-1")


def files_beside(path: Path) -> dict[str, list[str]]:
    return {p.name: p.read_text(encoding="utf-8").splitlines() for p in sorted(path.parent.glob("*.txt"))}


def test_a_run_without_group_rows_has_no_next_steps_sheet_and_sets_only_for_rows_that_need_a_person(tmp_path):
    rows = [row(2, Action.DELETE), row(3, Action.DELETE), row(4, Action.DELETE), row(5, Action.RELINK)]
    results = [
        RowResult(rows[0], Outcome.DONE, "Deleted.", mms_id="9925899", portfolio_id="5325899"),
        RowResult(rows[1], Outcome.SKIPPED, "active order", mms_id="9935899", portfolio_id="5335899",
                  step=ACTIVE_ORDER_STEP),
        RowResult(rows[2], Outcome.FAILED, "refused", mms_id="9945899",
                  alma_error=AlmaErrorInfo("60175", "The portfolio could not be deleted.", "E01")),
        RowResult(rows[3], Outcome.SKIPPED, "no target", mms_id="9955899", portfolio_id="5355899"),
    ]
    path = write_results(tmp_path / "p2e - results.xlsx", sheet_with(rows), results, info())
    assert SHEET not in openpyxl.load_workbook(path).sheetnames
    assert files_beside(path) == {
        "p2e - results - set skipped with an active order (Portfolio IDs).txt": ["Portfolio ID", "5335899"],
        "p2e - results - set refused by Alma (MMS IDs).txt": ["MMS ID", "9945899"],
    }


def test_nothing_needs_a_person_no_file(tmp_path):
    rows = [row(2, Action.DELETE)]
    path = write_results(tmp_path / "p2e - results.xlsx", sheet_with(rows),
                         [RowResult(rows[0], Outcome.DONE, "Deleted.", mms_id="9925899")], info())
    assert files_beside(path) == {}


def test_group_rows_get_the_next_steps_sheet_per_collection_and_a_portfolio_set_to_link(tmp_path):
    rows = [row(2, Action.GROUP), row(3, Action.GROUP), row(4, Action.GROUP)]
    place = dict(collection_id="61105899", collection_name="P2E e-books", service_id="62105899")
    results = [
        RowResult(rows[0], Outcome.DONE, "Moved.", mms_id="9925899", portfolio_id="5395899",
                  grouped=Grouped(**place, old_portfolio_id="5325899", new_portfolio_id="5395899")),
        RowResult(rows[1], Outcome.ALREADY_DONE, "Already.", mms_id="9935899", portfolio_id="5385899",
                  grouped=Grouped(**place, old_portfolio_id="5335899", new_portfolio_id="5385899")),
        RowResult(rows[2], Outcome.SKIPPED, "No service.", mms_id="9945899", portfolio_id="5345899"),
    ]
    path = write_results(tmp_path / "p2e - results.xlsx", sheet_with(rows), results, info())
    ws = openpyxl.load_workbook(path)[SHEET]
    text = [str(c.value) for r in ws.iter_rows() for c in r if c.value is not None]
    assert "Collection 61105899: P2E e-books (service 62105899)" in text
    steps = [t for t in text if t.startswith("In Alma, search Electronic Collections")]
    assert steps == ["In Alma, search Electronic Collections for collection 61105899 ('P2E e-books') and open it. "
                     "Check that its portfolios are there: 2 were grouped into it by this file (p2e - results - set "
                     "portfolios to link to the Community Zone (Portfolio IDs).txt lists them; upload it as an "
                     "itemized set of portfolios to compare)."]
    assert any("choose to keep them" in t for t in text)
    assert files_beside(path) == {
        "p2e - results - set portfolios to link to the Community Zone (Portfolio IDs).txt":
            ["Portfolio ID", "5395899", "5385899"]}


def test_a_group_run_against_the_sandbox_writes_the_sheet_and_the_set_beside_the_results(
        group_sandbox, settings_for, tmp_path):  # noqa: F811
    sb, library, rich, with_pol, plain = group_sandbox()
    active = next(r for r in library.rows if r["scenario"] == "active_pol_delete")
    book = group_book(tmp_path / "inbox" / "mixed.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books"),
        (active["mms_id"], active["portfolio_id"], "delete")])
    outcome = process_file(book, settings_for(sb), stream=None)
    assert SHEET in openpyxl.load_workbook(outcome.results_path).sheetnames
    found = files_beside(outcome.results_path)
    stem = outcome.results_path.stem
    new_pid = [r for r in outcome.results if r.grouped][0].portfolio_id
    assert found == {
        f"{stem} - set portfolios to link to the Community Zone (Portfolio IDs).txt": ["Portfolio ID", new_pid],
        f"{stem} - set skipped with an active order (Portfolio IDs).txt": ["Portfolio ID", active["portfolio_id"]],
    }
    assert LOCAL["id"] in {r.grouped.collection_id for r in outcome.results if r.grouped}
