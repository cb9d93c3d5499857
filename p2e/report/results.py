"""The results workbook staff open first, named after their file.

* **Summary** - mode, when, which Alma, time taken (over every attempt of a resumed run), counts by
  action and outcome, a chart.
* **Results** - every original column in its place, then Result, Details, MMS ID, Portfolio ID,
  Bib, Alma error and Backup; a colour per outcome, filters, frozen header; printed one page wide.
* **Needs attention** - only the rows someone must look at (Skipped, Failed, Not run).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..model import EXCEL_MAX_COLUMNS, Action, Outcome, RowResult, Sheet
from .id_sets import plan_id_sets, write_id_sets
from .next_steps import write_next_steps
from .workbook import OUTCOME_COLOURS, RESULT_COLUMNS, formats, new_workbook, write_cell


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
    rate: str = ""  # the Alma call rate the run settled at, in words (p2e.alma.limiter describe())



def counts(results: Iterable[RowResult]) -> Counter:
    return Counter(r.outcome for r in results)


def write_results(path: Path, sheet: Sheet, results: Collection[RowResult], info: RunInfo) -> Path:
    """Write the results workbook to ``path`` (use :func:`unique_path` to choose it), and beside it the
    set-ready ID files of the rows that need a person (:mod:`p2e.report.id_sets`).

    ``results`` is read in several passes, one row at a time, and never held whole: the run passes a
    :class:`p2e.journal.RunResults` (in the sheet's order, read from the journal); a list is put in the
    sheet's order first.
    """
    workbook = new_workbook(path)
    ordered = _in_sheet_order(sheet, results) if isinstance(results, list) else results
    id_sets = plan_id_sets(path, ordered)
    try:
        fmt = formats(workbook)
        _summary_sheet(workbook, fmt, ordered, info)
        _results_sheet(workbook, fmt, "Results", sheet, ordered)
        attention = (r for r in ordered if r.outcome.needs_attention)
        _results_sheet(workbook, fmt, "Needs attention", sheet, attention, compact=True)
        to_link = [s.path.name for s in id_sets if s.kind == "groups to link" and s.path and s.header == "Portfolio ID"]
        write_next_steps(workbook, fmt, ordered, to_link[0] if to_link else "")
    finally:
        workbook.close()
    write_id_sets(id_sets)
    return path


def _in_sheet_order(sheet: Sheet, results: list[RowResult]) -> list[RowResult]:
    by_row = {r.row.number: r for r in results}
    return [by_row[row.number] for row in sheet.rows if row.number in by_row]


def _summary_sheet(workbook, fmt: dict, results: Iterable[RowResult], info: RunInfo) -> None:
    # One pass: what the sheet counts (a RunResults is read from the journal on every pass).
    table: Counter = Counter()  # (action, outcome) -> rows
    created: set[tuple[str, str]] = set()  # CREATE_COLLECTIONS=yes made these (once per run)
    for r in results:
        table[(r.row.action.value if r.row.action else "", r.outcome)] += 1
        if r.grouped and r.grouped.created_collection:
            created.add((r.grouped.collection_id, r.grouped.collection_name))
    overall: Counter = Counter()
    for (_, outcome), n in table.items():
        overall[outcome] += n
    rows = sum(overall.values())
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
        ("Rows", str(rows)),
        ("Alma API calls", f"{calls:,}" + (f" in all ({info.calls:,} this last time)" if resumed else "")),
        ("Run ID", info.run_id),
    ]
    if resumed:
        times = info.attempts - 1
        facts.insert(5, ("Interrupted", f"Interrupted and resumed {times} time{'s' if times != 1 else ''}; "
                                        "the time taken and the Alma API calls count every attempt."))
    if info.rate:
        facts.insert(facts.index(("Run ID", info.run_id)), ("Alma call rate", info.rate))
    if created:
        facts.append(("Collections created", "; ".join(f"'{name}' ({cid}), with one service (CREATE_COLLECTIONS=yes)"
                                                       for cid, name in sorted(created))))
    if info.note:
        facts.append(("Note", info.note))
    for i, (label, value) in enumerate(facts, start=2):
        ws.write_string(i, 0, label, fmt["bold"])
        ws.merge_range(i, 1, i, 8, value, fmt["left"])  # long values (file, server) get the width of the table
    top = len(facts) + 3
    ws.write_string(top, 0, "Rows by action and result", fmt["bold"])
    outcomes = [o for o in Outcome if overall[o]]
    ws.write_string(top + 1, 0, "Action", fmt["header"])
    for j, outcome in enumerate(outcomes, start=1):
        ws.write_string(top + 1, j, outcome.value, fmt["header"])
    ws.write_string(top + 1, len(outcomes) + 1, "Total", fmt["header"])
    actions = [a.value for a in Action]
    for i, action in enumerate(actions, start=top + 2):
        ws.write_string(i, 0, action)
        for j, outcome in enumerate(outcomes, start=1):
            ws.write_number(i, j, table.get((action, outcome), 0))
        ws.write_number(i, len(outcomes) + 1, sum(table.get((action, o), 0) for o in outcomes))
    total_row = top + 2 + len(actions)
    ws.write_string(total_row, 0, "Total", fmt["bold"])
    for j, outcome in enumerate(outcomes, start=1):
        ws.write_number(total_row, j, overall.get(outcome, 0), fmt["bold"])
    ws.write_number(total_row, len(outcomes) + 1, rows, fmt["bold"])
    attention = sum(n for o, n in overall.items() if o.needs_attention)
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


def _results_sheet(workbook, fmt: dict, name: str, sheet: Sheet, results: Iterable[RowResult],
                   compact: bool = False) -> None:
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
    written = 0
    for i, result in enumerate(results, start=1):  # in row order: constant_memory writes each row as it goes
        written = i
        if compact:
            ws.write_number(i, 0, result.row.number)
        for j, value in enumerate(sheet.values_of(result.row)[: len(originals)]):  # the staff's cells, streamed
            write_cell(ws, i, first + j, value, fmt)
        ws.write_string(i, extra, result.outcome.value, fmt[result.outcome])
        ws.write_string(i, extra + 1, result.details, fmt["wrap"])
        for k, value in enumerate((result.mms_id, result.portfolio_id, result.bib,
                                   str(result.alma_error) if result.alma_error else "", result.backup), start=2):
            if value:
                ws.write_string(i, extra + k, str(value), fmt["text"])
    last_col = extra + len(RESULT_COLUMNS) - 1
    ws.autofilter(0, 0, max(written, 1), last_col)
    # Printed: landscape, one page wide (as many pages tall as the rows need), the header row on every page.
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
