"""One row's cells, as the sheet reader collected them, made into a :class:`~p2e.intake.raw.RawRow`.

Both ways of reading a sheet (:mod:`p2e.intake.strict` and :mod:`p2e.intake.sheet_events`) hand
over each cell as ``(reference, style, type, formula, text)``: the ``r``, ``s`` and ``t``
attributes, whether it has a formula, and its value's text (an inline string's runs, for
``t="inlineStr"``); an empty string or None where there is none. :class:`RawRowMaker` keeps the
values as Excel shows them (numbers stay numbers, text stays text: the Excel-rounding check on IDs
depends on it) and refuses a cell outside Excel's grid and limits with its place named.

>>> from p2e.intake.limits import TextBudget
>>> maker = RawRowMaker(["delete"], frozenset(), frozenset(), 1900, TextBudget("p2e.xlsx"), "P2E")
>>> maker.row(4, [("A4", "", "", "", "7"), ("C4", "", "s", "", "0"), ("D4", "", "", "1", "")], False)
RawRow(number=4, values=[7, None, 'delete'], hidden=False, formula_columns={3})
"""
from __future__ import annotations

from typing import Any, Sequence

from openpyxl.utils.datetime import from_excel, from_ISO8601

from ..model import column_letter, shorten
from .limits import EXCEL_MAX_CELL_CHARS, EXCEL_MAX_COLUMN, MAX_NUMBER_CHARS, TextBudget
from .messages import FileRejected, reject
from .shared_strings import TooLong
from .raw import NO_COLUMNS, RawRow

# (reference, style, type, formula, text): see the module's docstring.
Cell = tuple[Any, Any, Any, Any, Any]

COLUMN_CACHE: dict[str, int] = {}
_DIGITS = "0123456789"


def column_index(ref: str) -> int:
    """'AB12' -> 27 (0-based); -1 for a reference that names no column Excel has.

    >>> column_index("AB12"), column_index("XFD1"), column_index("ABCD1")
    (27, 16383, -1)
    """
    letters = ref.rstrip(_DIGITS)
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


class RawRowMaker:
    """Cells to :class:`RawRow`, with the workbook's shared strings, date styles and epoch."""

    def __init__(self, strings: Sequence[str], date_formats: frozenset[int], timedelta_formats: frozenset[int],
                 epoch: Any, budget: TextBudget, title: str):
        self.strings = strings
        self.date_formats = date_formats
        self.timedelta_formats = timedelta_formats
        self.epoch = epoch
        self.budget = budget
        self.title = title

    def refuse(self, key: str, row: int | None = None, col: int | None = None, **values: Any) -> FileRejected:
        where: dict[str, Any] = {"sheet": self.title, "row": row}
        if col is not None:
            where["column"] = column_letter(col)
        return reject(key, name=self.budget.name, problem_kw=where, **values)

    def row(self, number: int, cells: Sequence[Cell], hidden: bool) -> RawRow | None:
        """Row ``number``: each cell's value where its reference puts it; None for a shown row with no values."""
        strings = self.strings
        count = len(strings)
        columns = COLUMN_CACHE
        digits, last_column, too_long = _DIGITS, EXCEL_MAX_COLUMN, TooLong
        values: list[Any] = []
        append = values.append
        formulas: set[int] | None = None  # most rows have none: no empty set per row
        col = -1
        for ref, style, kind, formula, text in cells:
            if ref:
                found = columns.get(ref.rstrip(digits))
                col = column_index(ref) if found is None else found
            else:
                col += 1
            if not 0 <= col < last_column:
                raise self.refuse("outside_grid", row=number, row_number=number,
                                  ref=shorten(ref or f"column {col + 1:,}", 24))
            if kind == "s" and text and text.isdigit():  # most cells: a shared string
                index = int(text)
                if index >= count:
                    raise self.refuse("damaged_cell", number, col, what="points to text that is not in the file")
                value = strings[index]
                if value.__class__ is too_long:
                    raise self.refuse("cell_too_long", number, col, length=value.length)
            else:
                value = self.value(number, col, kind or "n", style, text)
                if value is None:
                    if formula and not text and kind != "inlineStr":
                        if formulas is None:
                            formulas = set()
                        formulas.add(col)
                    continue
            width = len(values)
            if col == width:  # most cells: the next column
                append(value)
            else:
                if col > width:
                    values.extend([None] * (col - width + 1))
                values[col] = value
        if values or hidden:
            return RawRow(number, values, hidden, formulas or NO_COLUMNS)
        return None

    def value(self, row: int, col: int, kind: str, style: str | None, text: Any) -> Any:
        """A cell's value as Excel shows it: numbers stay numbers, text stays text."""
        try:
            if kind == "inlineStr":
                if text is None:
                    return None
                found = "".join(text)
                if len(found) > EXCEL_MAX_CELL_CHARS:
                    raise self.refuse("cell_too_long", row, col, length=len(found))
                self.budget.add_text(found)
                return found
            if not text:
                return None
            if kind == "s":
                index = int(text)
                if index < 0 or index >= len(self.strings):
                    raise self.refuse("damaged_cell", row, col, what="points to text that is not in the file")
                shared = self.strings[index]
                if shared.__class__ is TooLong:
                    raise self.refuse("cell_too_long", row, col, length=shared.length)
                return shared
            if kind == "n":
                if len(text) > MAX_NUMBER_CHARS:  # a huge integer would be held whole
                    raise ValueError(text[:40])
                number: Any = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
                if style and int(style) in self.date_formats:
                    try:
                        return from_excel(number, self.epoch, timedelta=int(style) in self.timedelta_formats)
                    except (OverflowError, ValueError):
                        return "#VALUE!"
                return number
            if kind == "b":
                return bool(int(text))
            if kind == "d":
                return from_ISO8601(text)
            # "str" (formula text result) and "e" (error) stay text
            if len(text) > EXCEL_MAX_CELL_CHARS:
                raise self.refuse("cell_too_long", row, col, length=len(text))
            self.budget.add_text(text)
            return text
        except (ValueError, OverflowError, TypeError):
            raise self.refuse("damaged_cell", row, col, what="holds a value that cannot be read") from None
