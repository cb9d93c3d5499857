"""Helpers shared by the run stage's tests (the fixtures they use live in tests/conftest.py)."""
from __future__ import annotations

from pathlib import Path

import openpyxl


def results_rows(path: Path, sheet: str = "Results") -> list[dict]:
    """The rows of a results workbook's sheet, as dicts keyed by its header."""
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    header = rows[0]
    return [dict(zip(header, row)) for row in rows[1:]]
