"""The annotated workbook: the staff's own sheet back, every column kept, the suggestions filled in.

* **Summary**: where the step looked, how many calls, the suggestions counted by action and by
  strength, anything to know (a collection not found, SRU off), and what to do next.
* **the action sheet** (its own name): every original column in its place. MMS ID, Portfolio ID,
  Action, Bib handling, Target MMS ID, Target Portfolio ID and PO Line are filled where there is a
  suggestion, in the staff's own columns when they exist (an empty cell only: what staff wrote
  stays), else in new columns at the end; then **Match** (strong / weak / none) and **Why**.
* **Settings**: Mode = Suggest (change it to Preview once the rows are reviewed), the addresses
  and the collections, so the file can go straight back into the inbox.

Every ID is written as text in a Text-formatted column, so Excel never rounds it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..model import Sheet
from ..report.workbook import formats, new_workbook, write_cell
from .rules import Suggestion

# (field of the Sheet's columns, heading of a new column, attribute of Suggestion)
FILLED = [
    ("mms_id", "MMS ID", "mms_id"),
    ("portfolio_id", "Portfolio ID", "portfolio_id"),
    ("action", "Action", "action"),
    ("bib_handling", "Bib handling", "bib_handling"),
    ("target_mms_id", "Target MMS ID", "target_mms_id"),
    ("target_portfolio_id", "Target Portfolio ID", "target_portfolio_id"),
    ("po_line", "PO Line", "po_line"),
]
MATCH_COLOURS = {"strong": "#C6EFCE", "weak": "#FFEB9C", "none": "#EDEDED"}
NEXT_STEPS = [
    "1. Open the sheet '{sheet}'. Each row has a Match (strong, weak or none) and a Why.",
    "2. Strong rows have an Action filled in (delete or relink), with the record you keep. Check a few in Alma.",
    "3. Weak rows have no Action: the Why says what to check. Decide, and fill in the Action yourself.",
    "4. Change anything you disagree with. Nothing has been changed in Alma.",
    "5. On the Settings sheet, set Mode to Preview, save, and put the file back in the inbox folder.",
    "6. Read the PREVIEW results; then set Mode to Apply and put the file in again.",
]


@dataclass
class SuggestInfo:
    """What the Summary sheet says about the suggestion run."""

    source_name: str
    alma: str
    started: datetime
    finished: datetime
    searched: list[str]
    notes: list[str]
    calls: int


def tally(suggestions: dict[int, Suggestion]) -> Counter:
    """Suggestions counted by (action or 'nothing', match)."""
    return Counter((s.action or "nothing", s.match) for s in suggestions.values() if s.match)


def write_annotated(path: Path, sheet: Sheet, suggestions: dict[int, Suggestion], info: SuggestInfo) -> Path:
    """Write the annotated workbook to ``path`` (choose it with :func:`p2e.names.unique_path`)."""
    workbook = new_workbook(path)
    try:
        fmt = formats(workbook)
        for name, colour in MATCH_COLOURS.items():
            fmt[name] = workbook.add_format({"bg_color": colour, "bold": True, "num_format": "@"})
        _summary(workbook, fmt, sheet, suggestions, info)
        _annotated_sheet(workbook, fmt, sheet, suggestions)
        _settings(workbook, fmt, sheet)
    finally:
        workbook.close()
    return path


def _summary(workbook, fmt: dict, sheet: Sheet, suggestions: dict[int, Suggestion], info: SuggestInfo) -> None:
    ws = workbook.add_worksheet("Summary")
    ws.set_column(0, 0, 34)
    ws.set_column(1, 3, 14)
    ws.write_string(0, 0, f"Suggestions for {info.source_name}", fmt["title"])
    lines = [("Nothing was changed in Alma", "a suggestion run only reads"),
             ("Alma", info.alma),
             ("Looked in", "; ".join(info.searched) or "nowhere (see below)"),
             ("Started", info.started), ("Finished", info.finished),
             ("Rows", len(sheet.rows)), ("Alma calls", info.calls)]
    r = 2
    for label, value in lines:
        ws.write_string(r, 0, label, fmt["bold"])
        write_cell(ws, r, 1, value, fmt)
        r += 1
    r += 1
    ws.write_string(r, 0, "Suggested", fmt["header"])
    for j, match in enumerate(("strong", "weak", "none")):
        ws.write_string(r, 1 + j, f"Match {match}", fmt["header"])
    counts = tally(suggestions)
    for what in ("delete", "relink", "keep", "nothing"):
        r += 1
        ws.write_string(r, 0, what if what != "nothing" else "nothing (you decide)", fmt["bold"])
        for j, match in enumerate(("strong", "weak", "none")):
            ws.write_number(r, 1 + j, counts.get((what, match), 0))
    r += 2
    for note in info.notes:
        ws.write_string(r, 0, "To know", fmt["bold"])
        ws.write_string(r, 1, note, fmt["text"])
        r += 1
    r += 1
    ws.write_string(r, 0, "What to do next", fmt["bold"])
    for step in NEXT_STEPS:
        r += 1
        ws.write_string(r, 0, step.format(sheet=sheet.sheet_name))


def _annotated_sheet(workbook, fmt: dict, sheet: Sheet, suggestions: dict[int, Suggestion]) -> None:
    ws = workbook.add_worksheet(sheet.sheet_name[:31])
    width = max([len(sheet.headers)] + [len(sheet.values_of(row)) for row in sheet.rows])
    place: dict[str, int] = {}
    extra: list[str] = []
    for field_name, heading, _ in FILLED:
        if field_name in sheet.columns:
            place[field_name] = sheet.columns[field_name]
        else:
            place[field_name] = width + len(extra)
            extra.append(heading)
    match_col = width + len(extra)
    why_col = match_col + 1
    id_columns = set(place.values())
    for col in range(why_col + 1):
        ws.set_column(col, col, 60 if col == why_col else 18 if col in id_columns else 14, fmt["text"])
    header_row = 0
    headers = list(sheet.headers) + [""] * (width - len(sheet.headers)) + extra + ["Match", "Why"]
    for col, heading in enumerate(headers):
        if heading:
            ws.write_string(header_row, col, heading, fmt["header"])
    ws.freeze_panes(1, 0)
    for i, row in enumerate(sheet.rows, start=1):
        cells = sheet.values_of(row)  # the staff's cells, wherever intake keeps them
        values = list(cells) + [None] * (width - len(cells)) + [None] * len(extra)
        suggestion = suggestions.get(row.number)
        if suggestion is not None and suggestion.match:
            for field_name, _, attribute in FILLED:
                col = place[field_name]
                if values[col] in (None, "") and getattr(suggestion, attribute):
                    values[col] = getattr(suggestion, attribute)
        for col, value in enumerate(values):
            write_cell(ws, i, col, value, fmt)
        if suggestion is not None:
            if suggestion.match:
                ws.write_string(i, match_col, suggestion.match, fmt[suggestion.match])
            ws.write_string(i, why_col, suggestion.why, fmt["wrap"])
    ws.autofilter(0, 0, max(len(sheet.rows), 1), why_col)


def _settings(workbook, fmt: dict, sheet: Sheet) -> None:
    ws = workbook.add_worksheet("Settings")
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 40, fmt["text"])
    ws.set_column(2, 2, 70)
    ws.write_string(0, 0, "Setting", fmt["header"])
    ws.write_string(0, 1, "Value", fmt["header"])
    ws.write_string(1, 0, "Mode")
    ws.write_string(1, 1, "Suggest", fmt["text"])
    ws.write_string(1, 2, "Suggest: look again. Preview: say what would happen, change nothing. Apply: make the "
                          "changes. Set Preview once you have checked the rows.")
    ws.data_validation(1, 1, 1, 1, {"validate": "list", "source": ["Suggest", "Preview", "Apply"],
                                    "error_title": "Mode", "error_message": "Choose Suggest, Preview or Apply."})
    ws.write_string(2, 0, "Email results to")
    ws.write_string(2, 1, ", ".join(sheet.email_to), fmt["text"])
    ws.write_string(3, 0, "Collections")
    ws.write_string(3, 1, "; ".join(sheet.collections), fmt["text"])
    ws.write_string(3, 2, "The Community Zone collections to look in for suggestions: IDs or public names, "
                          "separated by ;")
