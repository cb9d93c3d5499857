"""What intake will read and hold from one file: Excel's own grid and cell limits, and ours.

Every module of the package reads these as ``limits.NAME`` (never a copy), so a test may
lower one with ``monkeypatch.setattr(limits, "MAX_CELLS", 5_000)``. :class:`TextBudget` counts
the text of one workbook as it is read:

>>> budget = TextBudget("p2e.xlsx")
>>> budget.add_text("delete")
>>> 0 < budget.text_bytes < 100
True
"""
from __future__ import annotations

import sys

from .messages import reject

# How far down a sheet the header row may be (title rows, notes, blank rows above it).
HEADER_SEARCH_ROWS = 50
# How far down intake looks for a header that is too far down, to say where it is.
HEADER_REPORT_ROWS = 1000
# Excel's grid and cell limits: anything outside them was not made by Excel.
EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_COLUMN = 16_384  # XFD
EXCEL_MAX_CELL_CHARS = 32_767
# What intake will hold from one file (peak memory stays well under 500 MB for any file under
# MAX_FILE_MB): rows x columns of the action sheet as the results workbook hands it back, and the
# text of the whole workbook (shared strings and inline text, counted as the memory it takes).
MAX_CELLS = 3_000_000
# Each row costs ~400 bytes besides its cells (990,000 rows of 3 cells took 573 MB): rows are bounded too.
MAX_ROWS = 250_000
MAX_TEXT_BYTES = 150 * 1024 * 1024
# An XML text or tag that runs this many bytes without ending is more than any Excel cell holds
# (32,767 characters, at most ~10 bytes each when escaped): it is refused before it is held.
MAX_XML_RUN_BYTES = 1 << 20
# The workbook's other XML parts (content types, relationships, workbook, styles, properties) are
# read whole when the workbook is opened.
MAX_OTHER_PART_BYTES = 20 * 1024 * 1024
# Elements in any one of those parts: a styles part at Excel's limit of 64,000 cell styles has about
# 130,000; 300,000 tiny style elements took a whole-part reader 14 s and 254 MB.
MAX_PART_ELEMENTS = 200_000
# Elements one row may hold (16,384 cells, each a few elements deep); more is not from Excel.
MAX_ROW_ELEMENTS = 200_000
# Excel's numbers are doubles: their text is never longer than this ("-2.2250738585072014E-308").
MAX_NUMBER_CHARS = 40
# A workbook that unpacks to more than this many times its own size is refused (zip bomb).
MAX_UNPACK_RATIO = 25
# How much of a cell longer than Excel allows is kept, to quote it.
QUOTE_START = 100


class TextBudget:
    """What intake holds from one workbook, counted as it is read (see MAX_TEXT_BYTES)."""

    def __init__(self, name: str):
        self.name = name
        self.text_bytes = 0

    def add_text(self, text: str) -> None:
        self.add_size(sys.getsizeof(text) + 8)

    def add_size(self, size: int) -> None:
        """Count ``size`` bytes of text held (a string takes ``sys.getsizeof(text) + 8``, its place in a list)."""
        self.text_bytes += size
        if self.text_bytes > MAX_TEXT_BYTES:
            raise reject("too_much_text", name=self.name, limit_mb=MAX_TEXT_BYTES // (1024 * 1024))
