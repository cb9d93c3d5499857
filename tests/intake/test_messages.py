"""The messages a file is refused with: a plain summary, cells quoted short, the advice kept (issue 10, point 10)."""
from __future__ import annotations

from datetime import datetime

import openpyxl

from p2e.config import Settings
from p2e.intake import FileRejected, read_workbook
from p2e.model import Problem
from p2e.report import write_rejection
from p2e.validate import validate
from .conftest import MMS_1, workbook


def test_summary_counts_further_problems():
    exc = FileRejected([Problem("First."), Problem("Second."), Problem("Third.")])
    assert str(exc) == "First. (and 2 more problems)"
    assert str(FileRejected("Just one.")) == "Just one."


# === point 10: quote at most ~80 characters of a cell in any message ============================

def test_shorten_keeps_short_values_and_cuts_long_ones():
    from p2e.ids import shorten

    assert shorten("delete") == "delete"
    long = "x" * 40_000
    short = shorten(long)
    assert len(short) <= 100
    assert short.startswith("x" * 60) and short.endswith("… (40,000 characters)")
    assert shorten("a\nb") == "a b"


def test_long_cells_are_quoted_short_and_the_advice_is_kept(tmp_path):
    action = "please " * 4000          # 28,000 characters: under Excel's limit
    bad_id = "9" * 20 + "z" * 30_000
    header = ["MMS ID", "Action", "Bib handling", "T" * 30_000]
    path = workbook(tmp_path, [header, [MMS_1, action, None, "x"], [bad_id, "delete", "maybe " * 5000, "y"]])
    problems = validate(read_workbook(path), Settings())
    assert len(problems) == 3
    for problem in problems:
        assert len(str(problem)) < 500, str(problem)[:300]
    assert any(p.message.startswith("Unknown action 'please please") and p.message.endswith(
        "characters)': write delete, relink, group or keep.") for p in problems)
    assert any(p.message.endswith("for example 9917042712205899.") for p in problems)
    target = write_rejection(tmp_path / "REJECTED.xlsx", path.name, problems, datetime(2026, 11, 30, 9, 0))
    ws = openpyxl.load_workbook(target).active
    messages = [ws.cell(row=i, column=5).value for i in range(6, 9)]
    assert messages == [p.message for p in problems]


def test_long_header_is_quoted_short_in_messages(tmp_path):
    header = ["Title " * 5000, "Action"]
    problems = validate(read_workbook(workbook(tmp_path, [header, ["t", "delete"]])), Settings())
    assert len(problems) == 1
    assert len(str(problems[0])) < 600
    assert problems[0].message.endswith(")."), problems[0].message[-100:]


def test_rejection_workbook_bounds_every_field(tmp_path):
    problem = Problem("Fix it like this.", sheet="S" * 40_000, row=2, column="B", column_name="C" * 40_000)
    target = write_rejection(tmp_path / "REJECTED.xlsx", "f.xlsx", [problem], datetime(2026, 11, 30, 9, 0))
    ws = openpyxl.load_workbook(target).active
    assert len(ws.cell(row=6, column=1).value) <= 100
    assert len(ws.cell(row=6, column=4).value) <= 100
    assert ws.cell(row=6, column=5).value == "Fix it like this."
