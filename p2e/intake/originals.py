"""The staff's own cells of a large sheet, kept compressed from intake until the results workbook is written.

The results workbook hands every row back with every original cell, exactly as it was read (an ID
stored as text stays text, a number stays a number, a date a date). Held as Python objects, a
100,000-row sheet's cells were most of the whole run's memory. When the pipeline reads a file
(``read_workbook(..., compact=True)``), each row's cells go, as soon as the row is made, into
blocks of :data:`BLOCK_ROWS` rows, each serialised with :mod:`pickle` (our own objects, in this
process only: nothing read from outside is unpickled) and compressed with :mod:`zlib`; the row's
``values`` is left empty, and :meth:`p2e.model.Sheet.values_of` reads them back, a block at a time.

>>> from p2e.model import Row
>>> rows = [Row(2, ["9917042712205899", 12, None]), Row(3, ["delete"])]
>>> cells = OriginalCells()
>>> for row in rows:
...     cells.take(row)
>>> cells.finish()
>>> rows[0].values, cells.values(rows[0]), cells.values(rows[1])
([], ['9917042712205899', 12, None], ['delete'])
"""
from __future__ import annotations

import pickle
import zlib
from array import array
from bisect import bisect_left
from typing import Any

from ..model import Row

BLOCK_ROWS = 500


class OriginalCells:
    """Rows' original cells by row number, compressed in blocks of :data:`BLOCK_ROWS` rows."""

    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.numbers = array("q")  # the row numbers taken, in order
        self.pending: list[list[Any]] = []  # the cells of the block being filled
        self.cached: tuple[int, list[list[Any]]] = (-1, [])

    def take(self, row: Row) -> None:
        """Move the row's ``values`` in here (leaving it empty). A row numbered out of order or twice (a
        hand-made file) keeps its own."""
        if self.numbers and row.number <= self.numbers[-1]:
            return
        self.numbers.append(row.number)
        self.pending.append(row.values)
        row.values = []
        if len(self.pending) == BLOCK_ROWS:
            self.finish()

    def finish(self) -> None:
        """Compress the block being filled (call once the last row is taken)."""
        if self.pending:
            self.blocks.append(zlib.compress(pickle.dumps(self.pending, pickle.HIGHEST_PROTOCOL), 1))
            self.pending = []

    def values(self, row: Row) -> list[Any]:
        """The original cells of ``row``: its own when it keeps them, else those taken from it."""
        if row.values:
            return row.values
        index = bisect_left(self.numbers, row.number)
        if index == len(self.numbers) or self.numbers[index] != row.number:
            return row.values
        number, place = divmod(index, BLOCK_ROWS)
        if number == len(self.blocks):
            return self.pending[place]
        if self.cached[0] != number:  # rows are read in order: each block is unpacked once per pass
            self.cached = (number, pickle.loads(zlib.decompress(self.blocks[number])))
        return self.cached[1][place]
