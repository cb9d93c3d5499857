"""The staff's own cells are kept compressed from intake on (the pipeline's reading), and still come back
exactly: in the results workbook, with their types."""
from __future__ import annotations

import datetime

import openpyxl

import p2e.pipeline
from p2e.intake import read_workbook
from p2e.intake.originals import BLOCK_ROWS, OriginalCells
from p2e.model import Row
from p2e.pipeline import process_file

CELLS = ["9917042712205899", 9917042712205899, 12.5, True, None, datetime.datetime(2024, 3, 15, 9, 30),
         datetime.date(2024, 3, 15), datetime.time(9, 30), "=not a formula", "naïve ✓"]


def test_cells_taken_come_back_exactly_with_their_types():
    rows = [Row(number, [f"row {number}"] + CELLS[number % len(CELLS):]) for number in range(2, 2 + 2 * BLOCK_ROWS + 7)]
    expected = {row.number: list(row.values) for row in rows}
    cells = OriginalCells()
    for row in rows:
        cells.take(row)
    assert cells.values(rows[-1]) == expected[rows[-1].number]  # still in the block being filled
    cells.finish()
    assert all(row.values == [] for row in rows)
    for row in rows + rows[:3]:  # in order, then again from the start (the Needs attention sheet)
        got = cells.values(row)
        assert got == expected[row.number]
        assert [type(v) for v in got] == [type(v) for v in expected[row.number]]
    assert cells.values(Row(99999, ["never taken"])) == ["never taken"]


def test_rows_out_of_sheet_order_or_numbered_twice_keep_their_own_cells():
    rows = [Row(2, ["two"]), Row(5, ["five"]), Row(3, ["three"]), Row(5, ["five again"])]
    cells = OriginalCells()
    for row in rows:
        cells.take(row)
    cells.finish()
    assert [cells.values(row) for row in rows] == [["two"], ["five"], ["three"], ["five again"]]
    assert [row.values for row in rows] == [[], [], ["three"], ["five again"]]


def test_a_compact_reading_keeps_no_cells_in_the_rows_and_gives_them_back(workbook_for):
    from p2e.sandbox import generate_library

    path = workbook_for(generate_library(40, random_seed=3))
    plain, compact = read_workbook(path), read_workbook(path, compact=True)
    assert compact.headers == plain.headers and len(compact.rows) == len(plain.rows) == 40
    for mine, theirs in zip(compact.rows, plain.rows):
        assert mine.values == [] and (mine.number, mine.mms_id, mine.action) == (theirs.number, theirs.mms_id, theirs.action)
        got = compact.values_of(mine)
        assert got + [None] * (len(theirs.values) - len(got)) == theirs.values


def test_the_rows_run_without_their_cells_and_the_results_hand_every_cell_back(start_sandbox, settings_for,
                                                                               workbook_for, monkeypatch):
    sb, library = start_sandbox(rows=30)
    workbook = workbook_for(library)
    held_while_running: list[list] = []
    real_run_tasks = p2e.pipeline.run_tasks

    def spy(ctx, todo, **kw):
        held_while_running.extend(task.row.values for task in todo)
        return real_run_tasks(ctx, todo, **kw)

    monkeypatch.setattr(p2e.pipeline, "run_tasks", spy)
    outcome = process_file(workbook, settings_for(sb), stream=None)

    assert len(held_while_running) == len(library.rows) and all(v == [] for v in held_while_running)
    staff = read_workbook(workbook)
    results = openpyxl.load_workbook(outcome.results_path, read_only=True)["Results"]
    width = len(staff.headers)
    got = [list(r)[:width] for r in results.iter_rows(min_row=2, values_only=True)]
    assert len(got) == len(staff.rows)
    for row, cells in zip(staff.rows, got):
        want = row.values + [None] * (width - len(row.values))
        assert cells == [None if v == "" else v for v in want]
        assert [type(v) for v in cells] == [type(None) if v in (None, "") else type(v) for v in want]
