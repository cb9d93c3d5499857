"""Small helpers for writing workbooks safely with xlsxwriter.

Every text the project writes goes through :func:`write_text`, which always uses
``write_string``: a title that starts with ``=`` (or ``+``, ``-``, ``@``) stays text and is
never turned into a formula, and an ID stays the exact digits it was.

    workbook = xlsxwriter.Workbook(path, {"strings_to_formulas": False})
    ws = workbook.add_worksheet("Results")
    write_text(ws, 0, 0, "=HYPERLINK(...) is just a title")
    ws.set_column(0, 0, 20, text_format(workbook))
"""
from __future__ import annotations

from typing import Any

# Excel refuses longer cell texts.
MAX_CELL_CHARS = 32767
_TRUNCATED = " [...]"


def write_text(worksheet, row: int, col: int, value: Any, fmt=None) -> int:
    """Write ``value`` as a string cell (never a formula, number or URL); ``None`` writes an empty cell.

    Returns xlsxwriter's status code (0 on success).
    """
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - len(_TRUNCATED)] + _TRUNCATED
    if text == "":
        return worksheet.write_blank(row, col, None, fmt)
    return worksheet.write_string(row, col, text, fmt)


def text_format(workbook):
    """The workbook's Text cell format (number format '@'), created once per workbook."""
    fmt = getattr(workbook, "_p2e_text_format", None)
    if fmt is None:
        fmt = workbook.add_format({"num_format": "@"})
        workbook._p2e_text_format = fmt
    return fmt


__all__ = ["MAX_CELL_CHARS", "text_format", "write_text"]
