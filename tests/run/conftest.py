"""Helpers shared by the run stage's tests (the fixtures they use live in tests/conftest.py)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl


def results_rows(path: Path, sheet: str = "Results") -> list[dict]:
    """The rows of a results workbook's sheet, as dicts keyed by its header."""
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    header = rows[0]
    return [dict(zip(header, row)) for row in rows[1:]]


def deletes_applied(sb) -> Counter:
    """DELETEs Alma carried out: answered 204, or applied with the answer lost (not refused by the outage)."""
    return Counter(r["path"] for r in sb.requests
                   if r["method"] == "DELETE" and (r["status"] == 204 or r["error_code"] == "DROPPED"))
