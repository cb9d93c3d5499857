"""What every workbook the processor writes has in common: text stays text, rows stream to disk.

Every text is written with ``write_string``: a title that starts with ``=`` stays text and IDs stay
exactly as they are (never numbers, never formulas, never links).
"""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter

from ..model import Outcome

RESULT_COLUMNS = ["Result", "Details", "MMS ID", "Portfolio ID", "Bib", "Alma error", "Backup"]
OUTCOME_COLOURS = {
    Outcome.DONE: "#C6EFCE",
    Outcome.ALREADY_DONE: "#DDEBF7",
    Outcome.KEPT: "#EDEDED",
    Outcome.PREVIEW: "#FFF2CC",
    Outcome.SKIPPED: "#FCE4D6",
    Outcome.FAILED: "#FFC7CE",
    Outcome.NOT_RUN: "#F8CBAD",
}


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    """A workbook that keeps every text as text, and streams rows to disk (100,000 rows in little memory).

    With ``constant_memory`` each sheet must be written top to bottom, which every writer here does.
    """
    return xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_numbers": False, "strings_to_urls": False})


def formats(workbook) -> dict:
    fmt = {
        "title": workbook.add_format({"bold": True, "font_size": 14}),
        "bold": workbook.add_format({"bold": True}),
        "header": workbook.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1, "text_wrap": True,
                                       "valign": "top"}),
        "text": workbook.add_format({"num_format": "@"}),
        "wrap": workbook.add_format({"num_format": "@", "text_wrap": True, "valign": "top"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "left": workbook.add_format({"align": "left", "num_format": "@"}),
    }
    for outcome, colour in OUTCOME_COLOURS.items():
        fmt[outcome] = workbook.add_format({"bg_color": colour, "bold": True, "num_format": "@"})
    return fmt


def write_cell(ws, row: int, col: int, value: Any, fmt: dict) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value)
    elif isinstance(value, (datetime, date, time)):
        if isinstance(value, time):
            ws.write_string(row, col, value.isoformat(), fmt["text"])
        else:
            ws.write_datetime(row, col, value if isinstance(value, datetime) else datetime(value.year, value.month, value.day),
                              fmt["date"])
    else:
        ws.write_string(row, col, str(value), fmt["text"])
