"""Report: the results workbook staff open first, the rejection workbook, and the audit log.

Results workbook (xlsxwriter), named after the staff's file:

* **Summary** - mode, when, which Alma, time taken, counts by action and outcome, a chart.
* **Results** - every original column in its place, then Result, Details, MMS ID,
  Portfolio ID, Alma error and Backup; a colour per outcome, filters, frozen header.
* **Needs attention** - only the rows someone must look at (Skipped, Failed, Not run).

Every text is written with ``write_string``: a title that starts with ``=`` stays text and
IDs stay exactly as they are (never numbers, never formulas). Nothing is ever overwritten:
a name already taken gets " (2)", " (3)", ...
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter

from .model import EXCEL_MAX_COLUMNS, Action, Outcome, Problem, RowResult, Sheet
from .names import STEM_BYTES, safe_file_name

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


@dataclass
class RunInfo:
    """What the Summary sheet says about the run."""

    source_name: str
    mode: str  # "Apply" or "Preview"
    alma: str
    started: datetime
    finished: datetime
    run_id: str = ""
    calls: int = 0  # this attempt's
    note: str = ""
    attempts: int = 1  # times the run was started: more than 1 when it was interrupted and resumed
    total_calls: int | None = None  # over every attempt (None: this attempt only)
    total_seconds: float | None = None


def unique_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem (2).suffix`` ... if that name is taken. Never overwrites.

    The name is made safe (:func:`p2e.names.safe_file_name`): cleaned, and short enough for any file system.
    """
    folder.mkdir(parents=True, exist_ok=True)
    candidate = folder / safe_file_name(stem, "", suffix)
    n = 2
    while candidate.exists():
        candidate = folder / safe_file_name(stem, f" ({n})", suffix)
        n += 1
    return candidate


def results_name(source_name: str, kind: str, when: datetime) -> str:
    """"<staff file's name> - <kind> <date time>", shortened if need be (the start and the date are kept)."""
    return safe_file_name(Path(source_name).stem, f" - {kind} {when.strftime('%Y-%m-%d %H%M')}", limit=STEM_BYTES)


def counts(results: list[RowResult]) -> Counter:
    return Counter(r.outcome for r in results)


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    """A workbook that keeps every text as text, and streams rows to disk (100,000 rows in little memory).

    With ``constant_memory`` each sheet must be written top to bottom, which every writer here does.
    """
    return xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                           "strings_to_numbers": False, "strings_to_urls": False})


def write_results(path: Path, sheet: Sheet, results: list[RowResult], info: RunInfo) -> Path:
    """Write the results workbook to ``path`` (use :func:`unique_path` to choose it)."""
    workbook = new_workbook(path)
    try:
        fmt = _formats(workbook)
        by_row = {r.row.number: r for r in results}
        ordered = [by_row[row.number] for row in sheet.rows if row.number in by_row]
        _summary_sheet(workbook, fmt, ordered, info)
        _results_sheet(workbook, fmt, "Results", sheet, ordered)
        attention = [r for r in ordered if r.outcome.needs_attention]
        _results_sheet(workbook, fmt, "Needs attention", sheet, attention, compact=True)
    finally:
        workbook.close()
    return path


def _formats(workbook) -> dict:
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


def _write_cell(ws, row: int, col: int, value: Any, fmt: dict) -> None:
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


def _summary_sheet(workbook, fmt: dict, results: list[RowResult], info: RunInfo) -> None:
    ws = workbook.add_worksheet("Summary")
    ws.fit_to_pages(1, 1)  # printed on one page
    ws.set_column(0, 0, 28)
    ws.set_column(1, 8, 14)
    title = "Preview: nothing was changed in Alma" if info.mode == "Preview" else "Results of the P2E clean-up"
    ws.write_string(0, 0, title, fmt["title"])
    this_attempt = max(0, int((info.finished - info.started).total_seconds()))
    resumed = info.attempts > 1
    seconds = int(info.total_seconds) if resumed and info.total_seconds is not None else this_attempt
    calls = info.total_calls if resumed and info.total_calls is not None else info.calls
    facts = [
        ("File", info.source_name),
        ("Mode", info.mode + (" (reads only; no change was made)" if info.mode == "Preview" else "")),
        ("Started", info.started.strftime("%Y-%m-%d %H:%M:%S")),
        ("Finished", info.finished.strftime("%Y-%m-%d %H:%M:%S")),
        ("Time taken", f"{seconds // 60} min {seconds % 60} s"
                       + (f" in all ({this_attempt // 60} min {this_attempt % 60} s this last time)" if resumed else "")),
        ("Alma", info.alma),
        ("Rows", str(len(results))),
        ("Alma API calls", f"{calls:,}" + (f" in all ({info.calls:,} this last time)" if resumed else "")),
        ("Run ID", info.run_id),
    ]
    if resumed:
        times = info.attempts - 1
        facts.insert(5, ("Interrupted", f"Interrupted and resumed {times} time{'s' if times != 1 else ''}; "
                                        "the time taken and the Alma API calls count every attempt."))
    if info.note:
        facts.append(("Note", info.note))
    for i, (label, value) in enumerate(facts, start=2):
        ws.write_string(i, 0, label, fmt["bold"])
        ws.merge_range(i, 1, i, 8, value, fmt["left"])  # long values (file, server) get the width of the table
    top = len(facts) + 3
    ws.write_string(top, 0, "Rows by action and result", fmt["bold"])
    outcomes = [o for o in Outcome if any(r.outcome is o for r in results)]
    ws.write_string(top + 1, 0, "Action", fmt["header"])
    for j, outcome in enumerate(outcomes, start=1):
        ws.write_string(top + 1, j, outcome.value, fmt["header"])
    ws.write_string(top + 1, len(outcomes) + 1, "Total", fmt["header"])
    table = Counter((r.row.action.value if r.row.action else "", r.outcome) for r in results)
    actions = [a.value for a in Action]
    for i, action in enumerate(actions, start=top + 2):
        ws.write_string(i, 0, action)
        for j, outcome in enumerate(outcomes, start=1):
            ws.write_number(i, j, table.get((action, outcome), 0))
        ws.write_number(i, len(outcomes) + 1, sum(table.get((action, o), 0) for o in outcomes))
    total_row = top + 2 + len(actions)
    ws.write_string(total_row, 0, "Total", fmt["bold"])
    overall = counts(results)
    for j, outcome in enumerate(outcomes, start=1):
        ws.write_number(total_row, j, overall.get(outcome, 0), fmt["bold"])
    ws.write_number(total_row, len(outcomes) + 1, len(results), fmt["bold"])
    attention = sum(1 for r in results if r.outcome.needs_attention)
    ws.write_string(total_row + 2, 0,
                    f"{attention} row(s) need attention: see the 'Needs attention' sheet." if attention
                    else "No row needs attention.", fmt["bold"])
    if outcomes:
        chart = workbook.add_chart({"type": "column"})
        chart.add_series({
            "name": "Rows",
            "categories": ["Summary", top + 1, 1, top + 1, len(outcomes)],
            "values": ["Summary", total_row, 1, total_row, len(outcomes)],
            "points": [{"fill": {"color": OUTCOME_COLOURS[o]}, "border": {"color": "#808080"}} for o in outcomes],
        })
        chart.set_title({"name": "Rows by result"})
        chart.set_legend({"none": True})
        ws.insert_chart(total_row + 4, 0, chart, {"x_scale": 1.2, "y_scale": 1.0})


def _results_sheet(workbook, fmt: dict, name: str, sheet: Sheet, results: list[RowResult], compact: bool = False) -> None:
    ws = workbook.add_worksheet(name)
    originals = list(sheet.headers)
    if compact:
        ws.write_string(0, 0, "Excel row", fmt["header"])
        first = 1
    else:
        first = 0
    for j, header in enumerate(originals):
        ws.write_string(0, first + j, str(header or ""), fmt["header"])
    extra = first + len(originals)
    if extra + len(RESULT_COLUMNS) > EXCEL_MAX_COLUMNS:
        # Validation refuses such a sheet; xlsxwriter would silently drop what does not fit.
        raise ValueError(f"the sheet is {len(originals)} columns wide: the result columns would not fit")
    for j, header in enumerate(RESULT_COLUMNS):
        ws.write_string(0, extra + j, header, fmt["header"])
    ws.freeze_panes(1, 0)
    ws.set_column(0, extra - 1, 14)
    ws.set_column(extra, extra, 13)
    ws.set_column(extra + 1, extra + 1, 70)
    ws.set_column(extra + 2, extra + 3, 20)
    ws.set_column(extra + 4, extra + 4, 11)
    ws.set_column(extra + 5, extra + 5, 40)
    ws.set_column(extra + 6, extra + 6, 30)
    for i, result in enumerate(results, start=1):
        if compact:
            ws.write_number(i, 0, result.row.number)
        for j, value in enumerate(result.row.values[: len(originals)]):
            _write_cell(ws, i, first + j, value, fmt)
        ws.write_string(i, extra, result.outcome.value, fmt[result.outcome])
        ws.write_string(i, extra + 1, result.details, fmt["wrap"])
        for k, value in enumerate((result.mms_id, result.portfolio_id, result.bib,
                                   str(result.alma_error) if result.alma_error else "", result.backup), start=2):
            if value:
                ws.write_string(i, extra + k, str(value), fmt["text"])
    last_col = extra + len(RESULT_COLUMNS) - 1
    ws.autofilter(0, 0, max(len(results), 1), last_col)
    # Printed: landscape, one page wide (as many pages tall as the rows need), the header row on every page.
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)


def write_rejection(path: Path, source_name: str, problems: list[Problem], when: datetime) -> Path:
    """A workbook that lists every problem by sheet, Excel row and column. Nothing was sent to Alma."""
    workbook = new_workbook(path)
    try:
        fmt = _formats(workbook)
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


class AuditLog:
    """Every Alma call as one JSON line. Thread-safe; the API key never reaches it."""

    def __init__(self, path: Path, secrets: list[str]):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._secrets = [s for s in secrets if s]
        self._lock = threading.Lock()
        self._handle = open(path, "a", encoding="utf-8")

    def __call__(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False)
        for secret in self._secrets:
            line = line.replace(secret, "***")
        with self._lock:
            self._handle.write(line + "\n")
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def read_results(path: Path) -> list[dict]:
    """The rows of a results workbook's Results sheet, as dicts keyed by header (``_row`` = sheet row)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise ValueError(f"{Path(path).name} is not a results workbook that can be opened ({exc}).") from None
    try:
        if "Results" not in workbook.sheetnames:
            raise ValueError(f"{Path(path).name} has no Results sheet: is it a results workbook from this processor?")
        rows = workbook["Results"].iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(rows, ())]
        found = []
        for number, values in enumerate(rows, start=2):
            record = {h: v for h, v in zip(header, values)}
            record["_row"] = number
            found.append(record)
        return found
    finally:
        workbook.close()


def read_summary(path: Path) -> dict[str, str]:
    """The facts on a results workbook's Summary sheet (File, Mode, Run ID, ...), label -> text."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise ValueError(f"{Path(path).name} is not a results workbook that can be opened ({exc}).") from None
    try:
        if "Summary" not in workbook.sheetnames:
            raise ValueError(f"{Path(path).name} has no Summary sheet: is it a results workbook from this processor?")
        facts: dict[str, str] = {}
        for values in workbook["Summary"].iter_rows(min_row=1, max_row=40, max_col=2, values_only=True):
            if values and isinstance(values[0], str) and len(values) > 1 and values[1] is not None:
                facts.setdefault(values[0], str(values[1]))
        return facts
    finally:
        workbook.close()


def write_restore_results(path: Path, source_name: str, restored: list) -> Path:
    """One row per restored row: old and new IDs, result, details."""
    workbook = new_workbook(path)
    try:
        fmt = _formats(workbook)
        ws = workbook.add_worksheet("Restore")
        headers = ["Row", "Old MMS ID", "New MMS ID", "Old portfolio ID", "New portfolio ID", "PO line", "Result",
                   "Details"]
        for j, header in enumerate(headers):
            ws.write_string(0, j, header, fmt["header"])
        for i, r in enumerate(restored, start=1):
            ws.write_number(i, 0, r.row)
            for j, value in enumerate((r.old_mms_id, r.new_mms_id, r.old_portfolio_id, r.new_portfolio_id, r.po_line,
                                       r.result, r.details), start=1):
                ws.write_string(i, j, str(value or ""), fmt["text"])
        ws.set_column(1, 5, 21)
        ws.set_column(6, 6, 18)
        ws.set_column(7, 7, 90)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(restored), 1), len(headers) - 1)
        ws.write_string(len(restored) + 3, 0, f"Restored from the results of {source_name}.")
    finally:
        workbook.close()
    return path


def write_id_lists(folder: Path, stem: str, ids: list[str], per_file: int) -> list[Path]:
    """Plain text lists of IDs, one per line, at most ``per_file`` per file (Alma's MDR limit)."""
    ids = [str(i) for i in dict.fromkeys(ids) if i]
    paths = []
    for part, start in enumerate(range(0, len(ids), per_file), start=1):
        suffix = f" {part}" if len(ids) > per_file else ""
        path = unique_path(folder, f"{stem}{suffix}", ".txt")
        path.write_text("\n".join(ids[start:start + per_file]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
