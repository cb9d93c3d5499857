"""Streaming one table (sheet) of an OpenDocument spreadsheet's ``content.xml``: rows, hidden rows and
columns, merged ranges, formulas with no cached value.

Every table of an .ods file is in the one ``content.xml``; :class:`TableReader` streams it with the
fast, safe parser (:mod:`p2e.intake.xmlstream`), skips the tables before its own, and drops every
finished element as it goes, so memory stays flat. LibreOffice writes runs of equal rows and cells
once, with ``table:number-rows-repeated`` / ``table:number-columns-repeated`` (the empty rows to the
end of the sheet as one row repeated a million times): empty runs are counted, never expanded, and
a run with values is expanded only as far as intake's limits let the rows through.

>>> refs(2, 3, 2, 1)
('C3:D3', 2, 3, 3, 3)
"""
from __future__ import annotations

from typing import IO, Any, Callable, Generator
from xml.etree.ElementTree import Element

from ..model import column_letter, shorten
from . import limits
from .limits import TextBudget
from .messages import FileRejected, reject
from .ods_cells import CellTooLong, Unreadable, cell_value
from .raw import NO_COLUMNS, RawRow
from .rows import Merged
from .xmlstream import iterparse

TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE_SPREADSHEET = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}spreadsheet"
TABLE_TABLE, TABLE_ROW, TABLE_COLUMN = TABLE + "table", TABLE + "table-row", TABLE + "table-column"
_CELL, _COVERED = TABLE + "table-cell", TABLE + "covered-table-cell"
ROWS_REPEATED, _COLUMNS_REPEATED = TABLE + "number-rows-repeated", TABLE + "number-columns-repeated"
_COLUMNS_SPANNED, _ROWS_SPANNED = TABLE + "number-columns-spanned", TABLE + "number-rows-spanned"
_VISIBILITY, _FORMULA = TABLE + "visibility", TABLE + "formula"
HIDDEN = ("collapse", "filter")  # LibreOffice's hidden rows and columns, and those a filter hides


def repeat(element: Element, attribute: str) -> int:
    """How many rows or columns an element stands for (1 unless repeated); ValueError when not a count."""
    text = element.get(attribute)
    if text is None:
        return 1
    count = int(text)
    if count < 1:
        raise ValueError(text)
    return count


def refs(col: int, row: int, columns: int, rows: int) -> Merged:
    """A merged range from its first cell (0-based column, row number) and its size."""
    last_col, last_row = col + columns - 1, row + rows - 1
    return f"{column_letter(col)}{row}:{column_letter(last_col)}{last_row}", col, row, last_col, last_row


class TableReader:
    """Stream the rows of the ``index``-th table of ``content.xml`` (opened by ``open_content``): the
    values as LibreOffice last saved them, which rows and columns are hidden, which cells hold a
    formula with no cached value, and the merged ranges (known once the rows are read).

    Everything outside Excel's grid and limits is refused as it is met (FileRejected)."""

    def __init__(self, open_content: Callable[[], IO[bytes]], index: int, title: str, budget: TextBudget):
        self.index = index
        self.title = title
        self.budget = budget
        self.source = open_content()
        self.merged: list[Merged] = []
        self.hidden_columns: list[tuple[int, int]] = []  # 0-based, inclusive

    def _refuse(self, key: str, row: int | None = None, col: int | None = None, **values: Any) -> FileRejected:
        where: dict[str, Any] = {"sheet": self.title, "row": row}
        if col is not None and col < limits.EXCEL_MAX_COLUMN:
            where["column"] = column_letter(col)
        return reject(key, name=self.budget.name, problem_kw=where, **values)

    def column_hidden(self, col: int) -> bool:
        return any(low <= col <= high for low, high in self.hidden_columns)

    @property
    def merged_ranges(self) -> list[Merged]:
        return self.merged

    def rows(self) -> Generator[RawRow, None, None]:
        stack: list[Element] = []
        tables = -1
        mine = False       # inside this reader's table
        in_row = 0         # depth inside the current row (1: the row itself)
        row_elements = 0   # elements opened inside the current row
        counter = 0        # rows of this table so far
        column = 0         # columns of this table so far
        try:
            for event, element in iterparse(self.source, events=("start", "end")):
                if event == "start":
                    if in_row:
                        in_row += 1
                        row_elements += 1
                        if row_elements > limits.MAX_ROW_ELEMENTS or element.tag == TABLE_TABLE:
                            raise self._refuse("damaged", row=counter + 1)  # (a table in a cell: not LibreOffice's)
                        continue  # a cell or its text: read with its row
                    if element.tag == TABLE_ROW:
                        in_row, row_elements = 1, 0
                    elif element.tag == TABLE_TABLE:
                        if not stack or stack[-1].tag != OFFICE_SPREADSHEET:
                            raise self._refuse("damaged")  # a table anywhere else: never written by LibreOffice
                        tables += 1
                        mine = tables == self.index
                    stack.append(element)
                    continue
                if in_row > 1:
                    in_row -= 1
                    continue  # a cell or its text: read with its row
                stack.pop()
                tag = element.tag
                if tag == TABLE_ROW:
                    in_row = 0
                    if mine:
                        try:
                            count = repeat(element, ROWS_REPEATED)
                        except ValueError:
                            raise self._refuse("damaged", row=counter + 1) from None
                        first = counter + 1
                        counter += count
                        values, formulas = self._cells(element, first, count)
                        if (values or formulas) and counter > limits.EXCEL_MAX_ROW:  # an empty run past the end is harmless
                            raise self._refuse("row_past_grid", row=None, row_number=max(first, limits.EXCEL_MAX_ROW + 1))
                        if values:
                            hidden = element.get(_VISIBILITY) in HIDDEN
                            for n in range(count):
                                yield RawRow(first + n, values if n == 0 else list(values), hidden,
                                             formulas or NO_COLUMNS)
                elif tag == TABLE_COLUMN and mine:
                    column = self._column(element, column)
                elif tag == TABLE_TABLE and mine:
                    return  # the rest of the file is other tables
                if stack:
                    stack[-1].remove(element)  # drop what is finished, so memory stays flat
        finally:
            self.close()

    def _column(self, element: Element, column: int) -> int:
        try:
            count = repeat(element, _COLUMNS_REPEATED)
        except ValueError:
            raise self._refuse("damaged") from None
        if element.get(_VISIBILITY) in HIDDEN and column < limits.EXCEL_MAX_COLUMN:
            if len(self.hidden_columns) >= limits.EXCEL_MAX_COLUMN:
                raise self._refuse("damaged")
            self.hidden_columns.append((column, min(column + count, limits.EXCEL_MAX_COLUMN) - 1))
        return column + count

    def _cells(self, row: Element, number: int, rows: int) -> tuple[list[Any], set[int] | None]:
        """The values of one row (0-based by column) and the columns whose formula has no cached value."""
        values: list[Any] = []
        formulas: set[int] | None = None  # most rows have none: no empty set per row
        col = 0
        max_column = limits.EXCEL_MAX_COLUMN
        add_text = self.budget.add_text
        for cell in row:
            tag = cell.tag
            if tag != _CELL and tag != _COVERED:
                continue
            get = cell.get
            try:
                count = 1 if get(_COLUMNS_REPEATED) is None else repeat(cell, _COLUMNS_REPEATED)
                value = cell_value(cell)
            except CellTooLong as exc:
                raise self._refuse("cell_too_long", number, col, length=exc.length) from None
            except (Unreadable, ValueError, OverflowError):
                raise self._refuse("damaged_cell", number, col, what="holds a value that cannot be read") from None
            end = col + count
            spanned = tag == _CELL and (get(_COLUMNS_SPANNED) is not None or get(_ROWS_SPANNED) is not None)
            if value is not None:
                if end > max_column:
                    raise self._refuse("outside_grid", row=number, row_number=number, ref=f"column {max_column + 1:,}")
                if value.__class__ is str:
                    add_text(value)  # a repeated cell holds the one string
                if col > len(values):
                    values.extend([None] * (col - len(values)))
                if count == 1:
                    values.append(value)
                else:
                    values.extend([value] * count)
            elif get(_FORMULA) is not None:  # a formula never calculated: no value-type, no value
                if end > max_column:
                    raise self._refuse("outside_grid", row=number, row_number=number, ref=f"column {max_column + 1:,}")
                formulas = (formulas or set()) | set(range(col, end))
            if spanned:
                self._merge(cell, col, number, count, rows)
            col = end
        return values, formulas

    def _merge(self, cell: Element, col: int, number: int, count: int, rows: int) -> None:
        try:
            columns, down = repeat(cell, _COLUMNS_SPANNED), repeat(cell, _ROWS_SPANNED)
        except ValueError:
            raise self._refuse("damaged", row=number) from None
        if columns == 1 and down == 1:
            return
        if col + count - 1 + columns > limits.EXCEL_MAX_COLUMN or number + rows - 1 + down - 1 > limits.EXCEL_MAX_ROW:
            raise self._refuse("damaged", row=number)
        # one range for a run of repeated merged cells: it covers all of them
        ref, first_col, first_row, last_col, last_row = refs(col, number, columns + count - 1, down + rows - 1)
        self.budget.add_text(ref)
        self.merged.append((shorten(ref, 24), first_col, first_row, last_col, last_row))

    def close(self) -> None:
        try:
            self.source.close()
        except Exception:  # pragma: no cover - closing a zip member never matters
            pass
