"""Streaming one worksheet's XML: its rows' values, hidden rows and columns, and merged ranges.

:class:`SheetReader` parses a sheet part of a :class:`~p2e.intake.package.Package` with expat's
handlers (:mod:`p2e.intake.expat`: no element objects are built, so memory stays flat whatever the
sheet holds) and keeps cached values as Excel shows them (numbers stay numbers, text stays text:
the Excel-rounding check on IDs depends on it).

>>> column_index("AB12"), column_index("XFD1"), column_index("ABCD1")
(27, 16383, -1)
"""
from __future__ import annotations

from typing import Any, Generator, Mapping

from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601

from ..model import column_letter, shorten
from . import limits
from .expat import feed, safe_parser
from .limits import EXCEL_MAX_CELL_CHARS, EXCEL_MAX_COLUMN, EXCEL_MAX_ROW, MAX_NUMBER_CHARS, TextBudget
from .messages import FileRejected, reject
from .package import Package, SheetPart, TooLong
from .raw import NO_COLUMNS, RawRow

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "  # expat's "uri local" names
_ROW, _C, _V, _F, _IS, _T, _RPH = (_NS + t for t in ("row", "c", "v", "f", "is", "t", "rPh"))
_MERGE_CELL = _NS + "mergeCell"
_COL = _NS + "col"
_SHEET_FORMAT = _NS + "sheetFormatPr"
# expat hands over these very strings for the names (its intern table), so comparing them is quick
_NAMES = {name: name for name in (_ROW, _C, _V, _F, _IS, _T, _RPH, _MERGE_CELL, _COL, _SHEET_FORMAT)}


COLUMN_CACHE: dict[str, int] = {}
_DIGITS = "0123456789"


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


def is_hidden(element: Mapping[str, str], size: str, by_default: bool) -> bool:
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
        """The rows, streamed: the handlers of one expat parser (:mod:`p2e.intake.expat`) collect each
        finished row, and they are handed on after each chunk of the file. No element objects are built."""
        strings, date_formats, timedelta_formats, epoch = self.strings, self.date_formats, self.timedelta_formats, self.epoch
        add_text = self.budget.add_text
        refuse = self._refuse
        ready: list[RawRow] = []
        parts: list[str] = []          # the pieces of the text being read (expat may split a text)
        values: list[Any] = []
        formulas: set[int] | None = None  # most rows have none: no empty set per row
        cell: dict[str, str] = {}      # the attributes of the cell being read
        inline: list[str] | None = None  # the texts of an inline string's runs
        text: str | None = None
        counter = col = cells = 0
        hidden = in_row = in_cell = in_text = has_formula = in_phonetic = False

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal cell, cells, text, inline, in_cell, in_text, has_formula, in_phonetic
            nonlocal values, formulas, counter, col, hidden, in_row
            if name == _C:
                if in_row:
                    cell, text, inline, has_formula, in_cell = attrs, None, None, False, True
                    cells += 1
                    if cells > limits.MAX_ROW_ELEMENTS:
                        raise refuse("damaged", row=counter)
            elif name == _V:
                if in_cell:
                    parts.clear()
                    in_text = True
            elif name == _F:
                has_formula = True
            elif name == _T:
                if inline is not None and not in_phonetic:
                    parts.clear()
                    in_text = True
            elif name == _IS:
                if in_cell:
                    inline = []
            elif name == _RPH:
                in_phonetic = True
            elif name == _ROW:
                r = attrs.get("r")
                try:
                    counter = row_number(r) if r else counter + 1
                except (ValueError, OverflowError):
                    raise refuse("damaged", row=counter + 1) from None
                if not 0 < counter <= EXCEL_MAX_ROW:
                    raise refuse("row_past_grid", row=counter if counter > 0 else None, row_number=counter)
                hidden = is_hidden(attrs, "ht", self.rows_hidden_by_default)
                values, formulas, col, cells, in_row = [], None, -1, 0, True
            elif name == _MERGE_CELL:
                ref = attrs.get("ref")
                if ref:
                    add_text(ref)
                    self.merged.append(ref)
            elif name == _COL:
                if is_hidden(attrs, "width", False):
                    try:
                        low, high = int(attrs.get("min", "")) - 1, int(attrs.get("max", "")) - 1
                    except ValueError:
                        raise refuse("damaged") from None
                    if len(self.hidden_columns) >= EXCEL_MAX_COLUMN:
                        raise refuse("damaged")
                    self.hidden_columns.append((low, high))
            elif name == _SHEET_FORMAT:
                if attrs.get("zeroHeight") in ("1", "true"):
                    self.rows_hidden_by_default = True

        def end(name: str) -> None:
            nonlocal text, in_text, in_cell, in_phonetic, in_row, col, formulas
            if name == _V:
                if in_text:
                    text = parts[0] if len(parts) == 1 else "".join(parts)
                    in_text = False
            elif name == _C:
                if not in_cell:
                    return
                in_cell = False
                ref = cell.get("r")
                if ref:
                    found = COLUMN_CACHE.get(ref.rstrip(_DIGITS))
                    col = column_index(ref) if found is None else found
                else:
                    col += 1
                if not 0 <= col < EXCEL_MAX_COLUMN:
                    raise refuse("outside_grid", row=counter, row_number=counter,
                                 ref=shorten(ref or f"column {col + 1:,}", 24))
                kind = cell.get("t")
                if kind == "s" and text and text.isdigit():  # most cells: a shared string
                    index = int(text)
                    if index >= len(strings):
                        raise refuse("damaged_cell", counter, col, what="points to text that is not in the file")
                    value = strings[index]
                    if value.__class__ is TooLong:
                        raise refuse("cell_too_long", counter, col, length=value.length)
                else:
                    value = cell_value(kind or "n", text, inline)
                    if value is None:
                        if has_formula and not text and kind != "inlineStr":
                            if formulas is None:
                                formulas = set()
                            formulas.add(col)
                        return
                if col >= len(values):
                    values.extend([None] * (col + 1 - len(values)))
                values[col] = value
            elif name == _T:
                if in_text and inline is not None:
                    inline.append(parts[0] if len(parts) == 1 else "".join(parts))
                    in_text = False
            elif name == _RPH:
                in_phonetic = False
            elif name == _ROW:
                in_row = False
                if values or hidden:
                    ready.append(RawRow(counter, values, hidden, formulas or NO_COLUMNS))

        def cell_value(kind: str, value: str | None, runs: list[str] | None) -> Any:
            """A cell's value as Excel shows it: numbers stay numbers, text stays text."""
            try:
                if kind == "inlineStr":
                    if runs is None:
                        return None
                    found = "".join(runs)
                    if len(found) > EXCEL_MAX_CELL_CHARS:
                        raise refuse("cell_too_long", counter, col, length=len(found))
                    add_text(found)
                    return found
                if not value:
                    return None
                if kind == "s":
                    index = int(value)
                    if index < 0 or index >= len(strings):
                        raise refuse("damaged_cell", counter, col, what="points to text that is not in the file")
                    shared = strings[index]
                    if shared.__class__ is TooLong:
                        raise refuse("cell_too_long", counter, col, length=shared.length)
                    return shared
                if kind == "n":
                    if len(value) > MAX_NUMBER_CHARS:  # a huge integer would be held whole
                        raise ValueError(value[:40])
                    number: Any = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
                    style = cell.get("s")
                    if style and int(style) in date_formats:
                        try:
                            return from_excel(number, epoch, timedelta=int(style) in timedelta_formats)
                        except (OverflowError, ValueError):
                            return "#VALUE!"
                    return number
                if kind == "b":
                    return bool(int(value))
                if kind == "d":
                    return from_ISO8601(value)
                # "str" (formula text result) and "e" (error) stay text
                if len(value) > EXCEL_MAX_CELL_CHARS:
                    raise refuse("cell_too_long", counter, col, length=len(value))
                add_text(value)
                return value
            except (ValueError, OverflowError, TypeError):
                raise refuse("damaged_cell", counter, col, what="holds a value that cannot be read") from None

        def long_text() -> bool:
            if not in_text:
                parts.clear()  # text between elements (indentation) is never kept
                return False
            return len(parts) > 1 and sum(map(len, parts)) > limits.MAX_XML_RUN_BYTES

        parser = safe_parser(dict(_NAMES))
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        parser.CharacterDataHandler = parts.append
        try:
            for _ in feed(parser, self.source, long_text):
                if ready:
                    yield from ready
                    ready.clear()
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
