"""Streaming one worksheet's XML: its rows' values, hidden rows and columns, and merged ranges.

:class:`SheetReader` reads a sheet part of a :class:`~p2e.intake.package.Package` in two ways at
once. Expat's handlers (:mod:`p2e.intake.sheet_events`) read everything before the rows (hidden
columns, rows hidden by default, the namespaces) and everything after them (merged ranges), and
any row in a shape they alone can read. The rows in the plain shape Excel writes are matched
whole (:mod:`p2e.intake.strict`), several times faster, and expat never sees them; at the first
row that is not in that shape, expat reads the rest of the sheet. Both give the same rows (cached
values as Excel shows them: numbers stay numbers, text stays text, which the Excel-rounding check
on IDs depends on). ``strict_rows=False`` makes expat read them all (tests compare the two).
"""
from __future__ import annotations

from itertools import chain
from typing import Generator, Iterator

from openpyxl.utils.cell import range_boundaries

from ..model import shorten
from . import limits
from .cells import RawRowMaker, column_index
from .expat import chunks_of, feed
from .strict import SHEET_DATA, StrictRow, enter, strict_row, topped_up
from .limits import TextBudget
from .messages import FileRejected
from .package import Package, SheetPart
from .raw import RawRow
from .sheet_events import sheet_parser, start_row

__all__ = ["SheetReader", "column_index"]

# A row longer than this is left to expat (one of 16,384 plain cells is about 600 KB).
STRICT_ROW_BYTES = 1 << 20


class SheetReader:
    """Stream one read-only worksheet's rows: cached values (as Excel last saved
    them), which rows are hidden, which cells hold a formula with no cached value, and the
    merged ranges (they come after the rows in the file). Which columns are hidden is known
    once the rows have started (``<cols>`` comes before them).

    Everything outside Excel's grid and limits is refused as it is met (FileRejected), and
    finished rows are handed on as they go, so memory stays flat whatever the sheet holds."""

    def __init__(self, book: Package, sheet: SheetPart, budget: TextBudget, strict_rows: bool = True):
        self.title = sheet.title
        self.budget = budget
        self.maker = RawRowMaker(book.strings, book.date_styles, book.timedelta_styles, book.epoch, budget, sheet.title)
        self.source = book.open(sheet)
        self.strict_rows = strict_rows
        self.merged: list[str] = []
        self.hidden_columns: list[tuple[int, int]] = []  # 0-based, inclusive
        self.rows_hidden_by_default = False  # <sheetFormatPr zeroHeight="1">: rows not given a height are hidden
        self.counter = 0  # the number of the last row read: a row with no number of its own is the next
        self.prefixes: list[str | None] = []  # the namespace prefixes declared where expat is (None: the default)
        self.sheet_data_at = -1  # where expat met the sheet data's start tag
        self.strict_count = 0  # the rows read in the strict shape (the rest were expat's)

    def _refuse(self, key: str, row: int | None = None, col: int | None = None, **values: object) -> FileRejected:
        return self.maker.refuse(key, row, col, **values)

    def column_hidden(self, col: int) -> bool:
        return any(low <= col <= high for low, high in self.hidden_columns)

    def rows(self) -> Generator[RawRow, None, None]:
        """The rows, streamed: handed on as they are read, after each chunk of the file."""
        ready: list[RawRow] = []
        parser, long_text = sheet_parser(self, ready)
        try:
            chunks: Iterator[bytes] = chunks_of(self.source)
            fed = 0
            if self.strict_rows:
                chunks, fed = yield from self._strict(parser, chunks)
            for _ in feed(parser, chunks, long_text, fed):
                if ready:
                    yield from ready
                    ready.clear()
        finally:
            self.close()

    def _strict(self, parser: object, chunks: Iterator[bytes]) -> Generator[RawRow, None, tuple[Iterator[bytes], int]]:
        """Expat reads up to the sheet data's start tag; then each row in the strict shape is read here, and
        expat is given the rest, from the first row that is not (or the end of the sheet data). Returns the
        chunks left for expat, and how many bytes it was given."""
        buf, fed, strict = enter(parser, chunks, SHEET_DATA, lambda: self.sheet_data_at)
        if not strict:
            return chain([buf], chunks), fed
        declared = frozenset(p for p in self.prefixes if p)
        maker = self.maker
        pos = 0
        more = True
        while True:
            if more and len(buf) - pos < STRICT_ROW_BYTES:
                (buf, more), pos = topped_up(buf[pos:], chunks, STRICT_ROW_BYTES), 0
            row = strict_row(buf, pos, declared)
            if row is None:  # a row in another shape, or the end of the sheet data: expat reads on from here
                return chain([buf[pos:]], chunks), fed
            raw = self._made(maker, row)
            self.strict_count += 1
            if raw is not None:
                yield raw
            pos = row.end

    def _made(self, maker: RawRowMaker, row: StrictRow) -> RawRow | None:
        number, hidden = start_row(self, row.attributes)
        if len(row.cells) > limits.MAX_ROW_ELEMENTS:
            raise maker.refuse("damaged", row=number)
        return maker.row(number, row.cells, hidden)

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
