"""The staff's own cells, kept small from validation until the results workbook is written.

The results workbook hands every row back with every original cell, exactly as it was read (an ID
stored as text stays text, a number stays a number, a date a date). Held as Python objects, a
100,000-row, 14-column sheet's cells took over 100 MB for the whole run. Once validation has read
them, :meth:`OriginalCells.take` moves each row's ``values`` into blocks of rows, each serialised
with :mod:`pickle` (our own objects, in this process only: nothing read from outside is unpickled)
and compressed with :mod:`zlib`, about a tenth of the size; the results workbook then reads them
back a block at a time, in row order.

>>> from p2e.model import Row
>>> rows = [Row(2, ["9917042712205899", 12, None]), Row(3, ["delete"])]
>>> cells = OriginalCells.take(rows)
>>> rows[0].values, cells.values(rows[0]), cells.values(rows[1])
([], ['9917042712205899', 12, None], ['delete'])
"""
from __future__ import annotations

import pickle
import zlib
from array import array
from bisect import bisect_left
from typing import Any, Sequence

from ..model import Row

BLOCK_ROWS = 500


class OriginalCells:
    """Every row's original cells, by row number, compressed in blocks of :data:`BLOCK_ROWS` rows."""

    def __init__(self) -> None:
        self.blocks: list[bytes] = []
        self.numbers = array("q")  # the row numbers taken, in order (sheet rows only ever go down)
        self.cached: tuple[int, list[list[Any]]] = (-1, [])

    @classmethod
    def take(cls, rows: Sequence[Row]) -> "OriginalCells":
        """Move the ``values`` of ``rows`` in here (each row's ``values`` is left empty).

        Rows come in sheet order; when they do not (a hand-made file may number rows out of order,
        or twice), they keep their own cells and nothing is taken."""
        cells = cls()
        if any(a.number >= b.number for a, b in zip(rows, rows[1:])):
            return cells  # rows out of order or numbered twice (a hand-made file): each keeps its own cells
        for start in range(0, len(rows), BLOCK_ROWS):
            block = rows[start:start + BLOCK_ROWS]
            cells.blocks.append(zlib.compress(pickle.dumps([row.values for row in block], pickle.HIGHEST_PROTOCOL), 1))
            for row in block:
                cells.numbers.append(row.number)
                row.values = []
        return cells

    def values(self, row: Row) -> list[Any]:
        """The original cells of ``row`` (its own ``values`` when they were never taken)."""
        index = bisect_left(self.numbers, row.number)
        if index == len(self.numbers) or self.numbers[index] != row.number:
            return row.values
        number, place = divmod(index, BLOCK_ROWS)
        if self.cached[0] != number:  # rows are written in order: each block is unpacked once per sheet
            self.cached = (number, pickle.loads(zlib.decompress(self.blocks[number])))
        return self.cached[1][place]
