"""Reading an old Excel 97-2003 workbook (.xls) with xlrd, like an .xlsx one.

xlrd (``formatting_info=True``) gives each cell's type as Excel stored it, so an ID stored as a number
is told from one stored as text (the Excel-rounding check depends on it), and it shows what Excel
hides: each sheet's visibility, hidden or zero-high rows (and rows hidden by default), hidden or
zero-wide columns, and merged ranges. An .xls file always stores a formula's last result, so
there is no uncalculated formula to find. The action sheet and the Settings sheet are then chosen
as for every workbook (:mod:`p2e.intake.book`), and the same rules on hidden things apply
(:mod:`p2e.intake.rows`).

An .xls file holds at most 65,536 rows of 256 columns, and xlrd reads it whole; the file-size
bound of :func:`p2e.intake.read.read_workbook` and the text budget bound what is held.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Literal

import xlrd
from xlrd.biffh import XLRDError
from xlrd.compdoc import CompDocError

from ..model import Sheet, column_letter
from .book import read_book
from .limits import TextBudget
from .messages import reject
from .raw import NO_COLUMNS, RawRow
from .rows import Merged

STATES = {0: "visible", 1: "hidden", 2: "veryHidden"}


@dataclass
class XlsSheet:
    """One sheet of the workbook: its tab name, its state, and xlrd's sheet."""

    title: str
    state: str
    sheet: Any


def read_xls(path: Path) -> Sheet:
    """The action sheet of an .xls workbook (or an .xls saved under another name)."""
    name = path.name
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=False, ragged_rows=True)
    except XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise reject("encrypted", name=name) from None
        raise reject("xls_damaged", name=name) from None
    except (CompDocError, EOFError, IndexError, ValueError, KeyError, AssertionError):
        raise reject("xls_damaged", name=name) from None
    try:
        budget = TextBudget(name)
        sheets = [XlsSheet(ws.name, STATES.get(ws.visibility, "hidden"), ws) for ws in book.sheets()]
        return read_book(path, sheets, lambda ws: XlsRows(ws.sheet, book.datemode, budget))
    finally:
        book.release_resources()


class XlsRows:
    """One .xls sheet's rows (as :class:`RawRow`), its merged ranges and hidden columns."""

    def __init__(self, sheet: Any, datemode: int, budget: TextBudget):
        self.sheet = sheet
        self.datemode: Literal[0, 1] = 1 if datemode else 0  # 1: the 1904 date system
        self.budget = budget

    def rows(self) -> Generator[RawRow, None, None]:
        sheet = self.sheet
        hidden_by_default = bool(getattr(sheet, "default_row_hidden", 0))
        for index in range(sheet.nrows):
            info = sheet.rowinfo_map.get(index)
            if info is None:
                hidden = hidden_by_default
            else:
                hidden = bool(info.hidden) or info.height == 0
            values = [self.value(cell) for cell in sheet.row(index)]
            while values and values[-1] is None:
                values.pop()
            if values or hidden:
                yield RawRow(index + 1, values, hidden, NO_COLUMNS)

    def value(self, cell: Any) -> Any:
        """A cell's value as Excel stored it: text stays text, a number stays a number (a whole one as an int)."""
        kind, value = cell.ctype, cell.value
        if kind == xlrd.XL_CELL_TEXT:
            if value:
                self.budget.add_text(value)
                return value
            return None
        if kind == xlrd.XL_CELL_NUMBER:
            return int(value) if value.is_integer() and abs(value) < 2 ** 53 else value
        if kind == xlrd.XL_CELL_DATE:
            try:
                return xlrd.xldate.xldate_as_datetime(value, self.datemode)
            except (ValueError, OverflowError, xlrd.xldate.XLDateError):
                return "#VALUE!"
        if kind == xlrd.XL_CELL_BOOLEAN:
            return bool(value)
        if kind == xlrd.XL_CELL_ERROR:
            return xlrd.error_text_from_code.get(value, "#VALUE!")
        return None  # empty or blank

    @property
    def merged_ranges(self) -> list[Merged]:
        out = []
        for row_low, row_high, col_low, col_high in self.sheet.merged_cells:  # half-open, 0-based
            ref = f"{column_letter(col_low)}{row_low + 1}:{column_letter(col_high - 1)}{row_high}"
            out.append((ref, col_low, row_low + 1, col_high - 1, row_high))
        return out

    def column_hidden(self, col: int) -> bool:
        info = self.sheet.colinfo_map.get(col)
        return info is not None and (bool(info.hidden) or info.width == 0)

    def close(self) -> None:
        pass
