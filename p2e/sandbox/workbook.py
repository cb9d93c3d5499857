"""Write the annotated P2E workbook that matches a generated library, the way staff have it.

Sheet "P2E": a title row, then the header row. CARLI's original report columns come first
(column A = Voyager ``BIB_ID``, the 856 URL in column O), then one blank spacer column, then
the columns staff fill in: MMS ID, Portfolio ID, Action, Bib handling, Target MMS ID,
Target Portfolio ID, PO Line. Every ID is written as a string into a Text-formatted column,
so Excel never rounds it.
"""
from __future__ import annotations

import os
from pathlib import Path

import xlsxwriter

from .seed import Library

TITLE = "UIU P2E report - e-resources"
ORIGINAL_HEADERS = [
    "BIB_ID", "Title", "Author", "ISBN/ISSN", "Location", "Type", "PO Number", "MFHD_ID", "Suppressed",
    "Publisher", "Pub Date", "OCLC Number", "Create Date", "856 Note", "856 URL",
]  # A..O
STAFF_HEADERS = ["MMS ID", "Portfolio ID", "Action", "Bib handling", "Target MMS ID", "Target Portfolio ID", "PO Line"]
STAFF_KEYS = ["mms_id", "portfolio_id", "action", "bib_handling", "target_mms_id", "target_portfolio_id", "po_line"]
EXPECTED_HEADERS = ["Row", "BIB_ID", "Scenario", "Expected outcome", "Expected bib"]
HEADER_ROW = 1  # 0-based: row 2 in Excel (row 1 is the title)
TEXT_ORIGINAL = {0, 3, 6, 7, 11}  # BIB_ID, ISBN/ISSN, PO Number, MFHD_ID, OCLC


def write_workbook(library: Library, path: str | os.PathLike, *, include_expected: bool = False,
                   raw: bool = False) -> Path:
    """Write ``library.rows`` as an annotated P2E .xlsx at ``path``; returns the path.

    ``raw=True`` leaves the staff columns empty (headers only): the report as CARLI delivers it,
    what the suggestion step starts from.

    ``include_expected=True`` adds a second sheet "Sandbox expected" (row, scenario, expected
    outcome) for demos; staff files never have it, so it is off by default.
    """
    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    try:
        ws = wb.add_worksheet("P2E")
        text = wb.add_format({"num_format": "@"})
        bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        staff_bold = wb.add_format({"bold": True, "bg_color": "#FFF2CC", "border": 1})
        title_fmt = wb.add_format({"bold": True, "font_size": 14})
        widths = [10, 45, 20, 16, 22, 10, 12, 10, 10, 20, 9, 16, 11, 14, 60]
        for c, w in enumerate(widths):
            ws.set_column(c, c, w, text if c in TEXT_ORIGINAL else None)
        spacer = len(ORIGINAL_HEADERS)
        ws.set_column(spacer, spacer, 3)
        first_staff = spacer + 1
        for j, w in enumerate([20, 20, 10, 12, 20, 20, 14]):
            ws.set_column(first_staff + j, first_staff + j, w, text)
        ws.write_string(0, 0, TITLE, title_fmt)
        for c, h in enumerate(ORIGINAL_HEADERS):
            ws.write_string(HEADER_ROW, c, h, bold)
        for j, h in enumerate(STAFF_HEADERS):
            ws.write_string(HEADER_ROW, first_staff + j, h, staff_bold)
        ws.freeze_panes(HEADER_ROW + 1, 1)
        for i, r in enumerate(library.rows):
            x = HEADER_ROW + 1 + i
            bib = r["voyager_bib_id"]
            originals = [
                bib, r["title"], "", r["isbn"], r["location"], "Portfolio", r.get("po_number", ""),
                "", "N", "", "", f"ocn{800_000_000 + int(bib)}" if bib.isdigit() else "", "2020-04-15", "", r["url"],
            ]
            for c, v in enumerate(originals):
                if v != "":
                    ws.write_string(x, c, str(v), text if c in TEXT_ORIGINAL else None)
            for j, key in enumerate(STAFF_KEYS):
                v = "" if raw else (r.get(key) or "")
                if v:
                    ws.write_string(x, first_staff + j, str(v), text)
        ws.autofilter(HEADER_ROW, 0, HEADER_ROW + max(len(library.rows), 1), first_staff + len(STAFF_HEADERS) - 1)
        if include_expected:
            ex = wb.add_worksheet("Sandbox expected")
            for c, h in enumerate(EXPECTED_HEADERS):
                ex.write_string(0, c, h, bold)
            ex.set_column(1, 1, 12, text)
            for i, r in enumerate(library.rows):
                ex.write_number(i + 1, 0, HEADER_ROW + 2 + i)
                ex.write_string(i + 1, 1, r["voyager_bib_id"], text)
                ex.write_string(i + 1, 2, r["scenario"])
                ex.write_string(i + 1, 3, r["expected_outcome"])
                ex.write_string(i + 1, 4, r["expected_bib"])
    finally:
        wb.close()
    return path
