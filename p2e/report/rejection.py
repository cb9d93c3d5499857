"""The rejection workbook: every problem of a refused file, by sheet, Excel row and column."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ..model import Problem
from .workbook import formats, new_workbook


def write_rejection(path: Path, source_name: str, problems: list[Problem], when: datetime) -> Path:
    """A workbook that lists every problem by sheet, Excel row and column. Nothing was sent to Alma."""
    workbook = new_workbook(path)
    try:
        fmt = formats(workbook)
        ws = workbook.add_worksheet("Problems")
        ws.write_string(0, 0, f"{source_name} was not processed", fmt["title"])
        ws.write_string(1, 0, "Nothing was changed in Alma. Fix the problems below, then save the file into the "
                              "inbox folder again.")
        ws.write_string(2, 0, f"Checked {when.strftime('%Y-%m-%d %H:%M')}; {len(problems)} problem(s).")
        headers = ["Sheet", "Row", "Column", "Column name", "Problem"]
        for j, header in enumerate(headers):
            ws.write_string(4, j, header, fmt["header"])
        for i, problem in enumerate(problems, start=5):
            ws.write_string(i, 0, problem.sheet or "")
            if problem.row:
                ws.write_number(i, 1, problem.row)
            ws.write_string(i, 2, problem.column or "")
            ws.write_string(i, 3, problem.column_name or "")
            ws.write_string(i, 4, problem.message, fmt["wrap"])
        ws.set_column(0, 0, 16)
        ws.set_column(1, 2, 8)
        ws.set_column(3, 3, 20)
        ws.set_column(4, 4, 100)
        ws.freeze_panes(5, 0)
        ws.autofilter(4, 0, 4 + max(len(problems), 1), 4)
    finally:
        workbook.close()
    return path
