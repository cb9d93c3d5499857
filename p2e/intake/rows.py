"""From plain rows to a :class:`~p2e.model.Sheet`: the header, each :class:`~p2e.model.Row`, and the
rules on hidden things, merged cells and uncalculated formulas.

IDs are cleaned to text (see :mod:`p2e.ids`); an ID Excel has damaged becomes a
:class:`~p2e.model.Problem` in ``sheet.problems``. Anything hidden that asks for a change in
Alma is refused with the place named.

>>> parse_action(" DELETE "), parse_action("Re-link"), parse_action("delete?")
(<Action.DELETE: 'delete'>, <Action.RELINK: 'relink'>, None)
"""
from __future__ import annotations

import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from openpyxl.utils.cell import range_boundaries

from ..ids import clean_id, display, label
from ..model import ID_FIELDS, Action, BibHandling, Problem, Row, Sheet, column_letter, shorten
from . import limits
from .headers import header_fields, is_header
from .messages import list_some, reject
from .originals import OriginalCells
from .raw import RawRow, blank

# A merged range: its reference (quoted short), first column (0-based), first row, last column, last row.
Merged = tuple[str, int, int, int, int]


# True while the pipeline reads a file (``read_workbook(..., compact=True)``): rows' cells are kept compressed.
COMPACT: ContextVar[bool] = ContextVar("compact", default=False)


def build_sheet(path: Path, sheet_name: str, rows: Iterator[RawRow], merged: Callable[[], list[Merged]],
                sheet_state: str = "visible", column_hidden: Callable[[int], bool] = lambda index: False,
                records_only: bool = False) -> Sheet:
    """The :class:`Sheet` of an action sheet's rows: the header row found, blank rows dropped, every row
    checked against the limits and made into a :class:`Row` as it comes (its cells compressed at once when
    :data:`COMPACT`), merged cells, uncalculated formulas and hidden things refused."""
    header: RawRow | None = None
    sheet: Sheet | None = None
    columns: dict[str, int] = {}
    watched: set[int] = set()
    uncalculated: list[tuple[int, int]] = []  # (row, column) of formulas with no value in the columns that drive the work
    cells = OriginalCells() if COMPACT.get() else None
    count = 0
    hidden: set[int] = set()
    width, widest = 0, RawRow(0, [])
    header_width = 0
    for raw in rows:
        if sheet is None:
            if raw.number <= limits.HEADER_SEARCH_ROWS and is_header(raw.values, records_only):
                header = raw
                width, widest = len(raw.values), raw
                header_width = width
                sheet, columns = _new_sheet(path, sheet_name, raw)
                watched = set(columns.values())
                maker = DataRowMaker(header_width, sheet, columns)
            continue
        if all(blank(v) for v in raw.values):
            continue
        if raw.hidden:
            hidden.add(raw.number)
        count += 1
        if len(raw.values) > width:
            width, widest = len(raw.values), raw
        if count > limits.MAX_ROWS:
            raise reject("too_many_rows", sheet=shorten(sheet_name), limit=limits.MAX_ROWS,
                          problem_kw={"sheet": sheet_name, "row": raw.number})
        # the results workbook hands back every row padded to the widest: bound rows x columns now
        if (count + 1) * width > limits.MAX_CELLS:
            raise reject("too_many_cells", sheet=shorten(sheet_name), rows=count, columns=width,
                          ref=f"{column_letter(width - 1)}{widest.number}", limit=limits.MAX_CELLS,
                          problem_kw={"sheet": sheet_name, "row": widest.number, "column": column_letter(width - 1)})
        if raw.formula_columns:
            uncalculated.extend((raw.number, c) for c in sorted(raw.formula_columns & watched))
        row = maker.make(raw)
        sheet.rows.append(row)
        if cells is not None:
            cells.take(row)
    assert header is not None and sheet is not None  # the sheet was chosen because it has one

    # Merged cells come after the rows in the file, so they are checked once all is read.
    header_merges: list[str] = []
    data_merges: list[str] = []
    for ref, min_col, min_row, max_col, max_row in merged():
        if min_row <= header.number <= max_row:
            header_merges.append(ref)
        elif max_row > header.number:
            data_merges.append(ref)
    if header_merges:
        raise reject("merged_header", row=header.number, ranges=list_some(header_merges),
                      problem_kw={"sheet": sheet_name, "row": header.number})
    if data_merges:
        raise reject("merged_data", ranges=list_some(data_merges),
                      problem_kw={"sheet": sheet_name, "row": _first_row(data_merges)})

    sheet.headers.extend([""] * (width - len(sheet.headers)))  # every row is handed back this wide
    if uncalculated:
        where = [f"{column_letter(c)}{n}" for n, c in uncalculated]
        n = len(where)
        first_row, first_col = uncalculated[0]
        raise reject("formulas", count=n, s="" if n == 1 else "s", hold="holds" if n == 1 else "hold",
                      cells=list_some(where),
                      problem_kw={"sheet": sheet_name, "row": first_row, "column": column_letter(first_col),
                                  "column_name": sheet.headers[first_col]})
    if cells is None:
        for row in sheet.rows:
            if len(row.values) < width:
                row.values.extend([None] * (width - len(row.values)))
    else:
        cells.finish()
        sheet.cells = cells
    refuse_hidden_actions(sheet, sheet_state, column_hidden, hidden)
    return sheet


def _new_sheet(path: Path, sheet_name: str, header: RawRow) -> tuple[Sheet, dict[str, int]]:
    """The sheet of a header row, its columns found, and a problem for each field two columns could be."""
    headers = [("" if v is None else display(v)) for v in header.values]
    found = header_fields(header.values)
    columns = {name: indexes[0] for name, indexes in found.items()}
    sheet = Sheet(source=path, sheet_name=sheet_name, header_row=header.number, headers=headers, columns=columns)
    for name, indexes in found.items():
        if len(indexes) > 1:
            letters = " and ".join(f"{column_letter(i)} ({shorten(headers[i])})" for i in indexes[:4])
            sheet.problems.append(Problem(
                f"Two columns could be the {label(name)} column: {letters}. Rename or delete one of them so the processor knows which to use.",
                sheet=sheet_name, row=header.number, column=column_letter(indexes[1]), column_name=headers[indexes[1]],
            ))
    return sheet, columns


def refuse_hidden_actions(sheet: Sheet, sheet_state: str, column_hidden: Callable[[int], bool],
                          hidden_rows: set[int]) -> None:
    """Anything hidden that asks for a change in Alma is refused, with the place named: a hidden or
    very hidden sheet, a hidden Action column, a hidden row. Hidden rows marked keep (or with an
    empty Action cell) are fine: staff filter the P2E report, and a filter hides rows."""
    writing = [row for row in sheet.rows if row.action is not Action.KEEP]  # delete, relink, or a word not understood
    if not writing or "action" not in sheet.columns:  # no Action column: a suggestion request, which writes nothing
        return

    def counted(rows: list[Row]) -> dict[str, Any]:
        n = len(rows)
        return {"count": n, "s": "" if n == 1 else "s", "verb_s": "s" if n == 1 else "",
                "rows": ("row " if n == 1 else "rows ") + list_some([str(r.number) for r in rows])}

    where = {"sheet": sheet.sheet_name, "row": writing[0].number}
    if sheet_state in ("hidden", "veryHidden"):
        key = "very_hidden_sheet" if sheet_state == "veryHidden" else "hidden_sheet"
        raise reject(key, sheet=shorten(sheet.sheet_name), problem_kw=where, **counted(writing))
    action_index = sheet.columns["action"]
    if column_hidden(action_index):
        letter = column_letter(action_index)
        raise reject("hidden_column", column=letter, **counted(writing),
                      problem_kw={**where, "column": letter, "column_name": sheet.headers[action_index]})
    # The other columns that steer a write: the bib handling (delete/suppress) and the relink target.
    steering = {
        "bib_handling": [r for r in writing if r.bib_handling_text and r.bib_handling is not BibHandling.RETAIN],
        "target_mms_id": [r for r in writing if r.action is Action.RELINK and r.target_mms_id],
        "target_portfolio_id": [r for r in writing if r.action is Action.RELINK and r.target_portfolio_id],
        "collection": [r for r in writing if r.action is Action.GROUP and r.collection],
        "service": [r for r in writing if r.action is Action.GROUP and r.service],
    }
    for field_name, rows in steering.items():
        index = sheet.columns.get(field_name)
        if index is not None and rows and column_hidden(index):
            letter = column_letter(index)
            raise reject("hidden_column_used", heading=shorten(sheet.headers[index]) or label(field_name),
                          column=letter, **counted(rows),
                          problem_kw={"sheet": sheet.sheet_name, "row": rows[0].number, "column": letter,
                                      "column_name": sheet.headers[index]})
    in_hidden_rows = [row for row in writing if row.number in hidden_rows]
    if in_hidden_rows:
        raise reject("hidden_rows", **counted(in_hidden_rows),
                      problem_kw={"sheet": sheet.sheet_name, "row": in_hidden_rows[0].number})


def _first_row(refs: list[str]) -> int | None:
    try:
        return min(range_boundaries(r)[1] or 0 for r in refs)
    except Exception:  # pragma: no cover
        return None


def text_of(value: Any) -> str:
    if value.__class__ is str:  # most cells (display() would give the same)
        return value.strip()
    return "" if value is None else display(value)


class DataRowMaker:
    """Makes each data row of one sheet into a :class:`Row`; the columns it reads are found once, from the header."""

    def __init__(self, width: int, sheet: Sheet, columns: dict[str, int]):
        self.width = width
        self.sheet = sheet
        self.action = columns.get("action")
        self.bib_handling = columns.get("bib_handling")
        self.po_line = columns.get("po_line")
        self.group: list[tuple[str, int]] = [(name, columns[name]) for name in ("collection", "service") if name in columns]
        self.ids: list[tuple[str, int]] = [(name, columns[name]) for name in ID_FIELDS if name in columns]

    def make(self, raw: RawRow) -> Row:
        values = raw.values
        if len(values) < self.width:
            values = values + [None] * (self.width - len(values))
        row = Row(number=raw.number, values=values)

        index = self.action
        if index is not None:
            row.action_text = text_of(values[index])
            if row.action_text:
                row.action = _action_of(row.action_text)
            else:
                row.action = Action.KEEP  # an unmarked row is left alone
        index = self.bib_handling
        if index is not None:
            row.bib_handling_text = text_of(values[index])
            row.bib_handling = _bib_handling_of(row.bib_handling_text) if row.bib_handling_text else None
        index = self.po_line
        if index is not None and not blank(values[index]):
            row.po_line = text_of(values[index]).replace("\u00a0", " ").strip() or None

        for field_name, index in self.group:  # group: an ID or a public name, as text (validate checks rounding)
            if not blank(values[index]):
                setattr(row, field_name, " ".join(text_of(values[index]).replace("\u00a0", " ").split()) or None)

        acts = row.action is not Action.KEEP
        for name, index in self.ids:
            value = values[index]
            if value is None:
                continue
            text, message = clean_id(value, name)
            setattr(row, name, text)
            values[index] = text if text is not None else (None if blank(value) else display(value))
            if message and acts:
                sheet = self.sheet
                sheet.problems.append(Problem(message, sheet=sheet.sheet_name, row=raw.number,
                                              column=column_letter(index), column_name=sheet.headers[index]))
        return row


@lru_cache(maxsize=256)
def _action_of(text: str) -> Action | None:
    """parse_action, remembered: a sheet's Action column holds the same few words on every row."""
    return parse_action(text)


@lru_cache(maxsize=256)
def _bib_handling_of(text: str) -> BibHandling | None:
    return BibHandling.parse(_letters_and_spaces(text))


def _letters_and_spaces(text: str) -> str:
    return " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())


def parse_action(text: object) -> Action | None:
    """The action a cell names: the exact word in any case and spacing (see :meth:`Action.parse`).

    >>> parse_action(" DELETE "), parse_action("Re-link"), parse_action("delete?"), parse_action("remove")
    (<Action.DELETE: 'delete'>, <Action.RELINK: 'relink'>, None, None)
    """
    return Action.parse(text)
