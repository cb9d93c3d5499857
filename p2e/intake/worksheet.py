"""Streaming one worksheet's XML: its rows' values, hidden rows and columns, and merged ranges.

:class:`SheetReader` parses a sheet part of a :class:`~p2e.intake.package.Package` with the fast
parser (:mod:`p2e.intake.xmlstream`), keeps cached values as Excel shows them (numbers stay
numbers, text stays text: the Excel-rounding check on IDs depends on it), and drops finished
elements as it goes, so memory stays flat whatever the sheet holds.

>>> column_index("AB12"), column_index("XFD1"), column_index("ABCD1")
(27, 16383, -1)
"""
from __future__ import annotations

from typing import Any, Generator
from xml.etree.ElementTree import Element

from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601

from ..model import column_letter, shorten
from .limits import (EXCEL_MAX_CELL_CHARS, EXCEL_MAX_COLUMN, EXCEL_MAX_ROW, MAX_NUMBER_CHARS, MAX_ROW_ELEMENTS,
                     TextBudget)
from .messages import FileRejected, reject
from .package import Package, SheetPart, TooLong
from .raw import NO_COLUMNS, RawRow
from .xmlstream import iterparse

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _C, _V, _F, _IS, _T, _R = (_NS + t for t in ("row", "c", "v", "f", "is", "t", "r"))
_MERGE_CELL = _NS + "mergeCell"
_COL = _NS + "col"
_SHEET_FORMAT = _NS + "sheetFormatPr"
_NOTHING = Element("nothing")  # a stand-in until the first element is met


COLUMN_CACHE: dict[str, int] = {}


def column_index(ref: str) -> int:
    """'AB12' -> 27 (0-based); -1 for a reference that names no column Excel has."""
    letters = ref.rstrip("0123456789")
    index = COLUMN_CACHE.get(letters)
    if index is None:
        if not (0 < len(letters) <= 3 and letters.isascii() and letters.isalpha()):
            return -1
        index = 0
        for ch in letters.upper():
            index = index * 26 + (ord(ch) - 64)
        index -= 1
        COLUMN_CACHE[letters] = index
    return index


def row_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = int(float(text))  # "2.0" from some generators; junk raises ValueError/OverflowError
    return number


def is_hidden(element: Element, size: str, by_default: bool) -> bool:
    """A row or column Excel does not show: hidden, or zero high / wide (or, on a sheet whose rows are
    hidden by default, a row not given a height of its own)."""
    if element.get("hidden") in ("1", "true"):
        return True
    value = element.get(size)
    if value is None:
        return by_default
    try:
        return float(value) <= 0 or (by_default and element.get("customHeight") not in ("1", "true"))
    except ValueError:
        return by_default


class SheetReader:
    """Stream one read-only worksheet's rows: cached values (as Excel last saved
    them), which rows are hidden, which cells hold a formula with no cached value, and the
    merged ranges (they come after the rows in the file). Which columns are hidden is known
    once the rows have started (``<cols>`` comes before them).

    Everything outside Excel's grid and limits is refused as it is met (FileRejected), and
    finished elements are dropped as they go, so memory stays flat whatever the sheet holds."""

    def __init__(self, book: Package, sheet: SheetPart, budget: TextBudget):
        self.title = sheet.title
        self.budget = budget
        self.strings = book.strings
        self.date_formats = book.date_styles
        self.timedelta_formats = book.timedelta_styles
        self.epoch = book.epoch
        self.source = book.open(sheet)
        self.merged: list[str] = []
        self.hidden_columns: list[tuple[int, int]] = []  # 0-based, inclusive
        self.rows_hidden_by_default = False  # <sheetFormatPr zeroHeight="1">: rows not given a height are hidden

    def _refuse(self, key: str, row: int | None = None, col: int | None = None, **values: Any) -> FileRejected:
        where: dict[str, Any] = {"sheet": self.title, "row": row}
        if col is not None:
            where["column"] = column_letter(col)
        return reject(key, name=self.budget.name, problem_kw=where, **values)

    def column_hidden(self, col: int) -> bool:
        return any(low <= col <= high for low, high in self.hidden_columns)

    def rows(self) -> Generator[RawRow, None, None]:
        strings, date_formats, timedelta_formats, epoch = self.strings, self.date_formats, self.timedelta_formats, self.epoch
        add_text = self.budget.add_text
        value: Any  # a cell's value: text, number, date, bool or None
        counter = 0
        root = section = _NOTHING
        depth = 0          # open elements above the current one
        in_row = 0         # elements opened inside the current row
        try:
            for event, element in iterparse(self.source, events=("start", "end")):
                if event == "start":
                    if depth == 0:
                        root = element
                    elif depth == 1:
                        section = element  # sheetData, cols, mergeCells, ...
                    elif depth >= 3:
                        in_row += 1
                        if in_row > MAX_ROW_ELEMENTS:
                            raise self._refuse("damaged", row=counter + 1)
                    depth += 1
                    continue
                depth -= 1
                if depth == 1:
                    if element.tag == _SHEET_FORMAT and element.get("zeroHeight") in ("1", "true"):
                        self.rows_hidden_by_default = True
                    root.clear()  # a finished section
                    continue
                if depth != 2:
                    continue
                in_row = 0
                tag = element.tag
                if tag == _ROW:
                    r = element.get("r")
                    try:
                        counter = row_number(r) if r else counter + 1
                    except (ValueError, OverflowError):
                        raise self._refuse("damaged", row=counter + 1) from None
                    if not 0 < counter <= EXCEL_MAX_ROW:
                        raise self._refuse("row_past_grid", row=counter if counter > 0 else None, row_number=counter)
                    hidden = is_hidden(element, "ht", self.rows_hidden_by_default)
                    values: list[Any] = []
                    formulas: set[int] | None = None  # most rows have none: no empty set per row
                    col = -1
                    for c in element:
                        if c.tag != _C:
                            continue
                        ref = c.get("r")
                        col = column_index(ref) if ref else col + 1
                        if not 0 <= col < EXCEL_MAX_COLUMN:
                            raise self._refuse("outside_grid", row=counter, row_number=counter,
                                               ref=shorten(ref or f"column {col + 1:,}", 24))
                        kind = c.get("t", "n")
                        try:
                            if kind == "inlineStr":
                                node = c.find(_IS)
                                if node is None:
                                    value = None
                                else:
                                    t = node.find(_T)
                                    value = (t.text or "") if t is not None else "".join(
                                        x.findtext(_T) or "" for x in node.iterfind(_R))
                                    if len(value) > EXCEL_MAX_CELL_CHARS:
                                        raise self._refuse("cell_too_long", counter, col, length=len(value))
                                    add_text(value)
                            else:
                                value = c.findtext(_V)
                                if value is None or value == "":
                                    value = None
                                    if c.find(_F) is not None:
                                        if formulas is None:
                                            formulas = set()
                                        formulas.add(col)
                                elif kind == "s":
                                    index = int(value)
                                    if index < 0 or index >= len(strings):
                                        raise self._refuse("damaged_cell", counter, col,
                                                           what="points to text that is not in the file")
                                    value = strings[index]
                                    if value.__class__ is TooLong:
                                        raise self._refuse("cell_too_long", counter, col, length=value.length)
                                elif kind == "n":
                                    if len(value) > MAX_NUMBER_CHARS:  # a huge integer would be held whole
                                        raise ValueError(value[:40])
                                    value = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
                                    style = c.get("s")
                                    if style and int(style) in date_formats:
                                        try:
                                            value = from_excel(value, epoch, timedelta=int(style) in timedelta_formats)
                                        except (OverflowError, ValueError):
                                            value = "#VALUE!"
                                elif kind == "b":
                                    value = bool(int(value))
                                elif kind == "d":
                                    value = from_ISO8601(value)
                                else:  # "str" (formula text result) and "e" (error) stay text
                                    if len(value) > EXCEL_MAX_CELL_CHARS:
                                        raise self._refuse("cell_too_long", counter, col, length=len(value))
                                    add_text(value)
                        except (ValueError, OverflowError, TypeError):
                            raise self._refuse("damaged_cell", counter, col, what="holds a value that cannot be read") from None
                        if value is not None:
                            if col >= len(values):
                                values.extend([None] * (col + 1 - len(values)))
                            values[col] = value
                    section.clear()  # drop finished rows from the tree, so memory stays flat
                    if values or hidden:
                        yield RawRow(counter, values, hidden, formulas or NO_COLUMNS)
                elif tag == _MERGE_CELL:
                    ref = element.get("ref")
                    if ref:
                        add_text(ref)
                        self.merged.append(ref)
                    section.clear()
                elif tag == _COL:
                    if is_hidden(element, "width", False):
                        try:
                            low, high = int(element.get("min", "")) - 1, int(element.get("max", "")) - 1
                        except ValueError:
                            raise self._refuse("damaged") from None
                        if len(self.hidden_columns) >= EXCEL_MAX_COLUMN:
                            raise self._refuse("damaged")
                        self.hidden_columns.append((low, high))
                    section.clear()
                else:
                    section.clear()  # anything else (hyperlinks, validations, ...) is not needed
        finally:
            self.close()

    @property
    def merged_ranges(self) -> list[tuple[str, int, int, int, int]]:
        out = []
        for ref in self.merged:
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
            except (ValueError, TypeError):
                raise self._refuse("damaged") from None
            if min_col is None or min_row is None or max_col is None or max_row is None:  # "A:A" or "1:1"
                raise self._refuse("damaged")
            out.append((shorten(ref, 24), min_col - 1, min_row, max_col - 1, max_row))
        return out

    def close(self) -> None:
        try:
            self.source.close()
        except Exception:  # pragma: no cover - closing a zip member never matters
            pass
