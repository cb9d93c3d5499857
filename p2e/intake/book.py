"""Choosing the action sheet of a workbook, whatever its format, and reading the Settings sheet beside it.

The sheet that has an Action heading in its first rows is the action sheet (exactly one must);
a sheet named Settings beside it gives the Mode and the addresses to email. The formats
(:mod:`p2e.intake.xlsx`, :mod:`p2e.intake.ods`) hand over their sheets (each with a ``title``
and a ``state``) and a way to open a :class:`SheetRows` reader on one of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Generator, Protocol, Sequence, TypeVar

from ..model import Sheet, shorten
from . import limits
from . import rows as rows_module
from .headers import find_header, header_too_far
from .messages import list_some, reject
from .raw import RawRow
from .rows import Merged
from .settings_sheet import read_settings_sheet


class SheetInfo(Protocol):
    """One sheet of a workbook: its tab name and its state (visible, hidden or veryHidden)."""

    @property
    def title(self) -> str: ...

    @property
    def state(self) -> str: ...


class SheetRows(Protocol):
    """A streaming reader of one sheet: its rows, then its merged ranges; hidden columns once rows started."""

    def rows(self) -> Generator[RawRow, None, None]: ...

    @property
    def merged_ranges(self) -> list[Merged]: ...

    def column_hidden(self, col: int) -> bool: ...

    def close(self) -> None: ...


S = TypeVar("S", bound=SheetInfo)


def read_book(path: Path, worksheets: Sequence[S], open_reader: Callable[[S], SheetRows]) -> Sheet:
    """The :class:`Sheet` of the one action sheet among ``worksheets``, with its Settings sheet read."""

    def header_of(ws: S, limit: int | None = None, records_only: bool = False) -> RawRow | None:
        rows = open_reader(ws).rows()
        try:
            return find_header(rows, limit, records_only)
        finally:
            rows.close()

    candidates = [ws for ws in worksheets if header_of(ws) is not None]
    records_only = False
    if not candidates:  # no Action heading anywhere: a raw P2E report is a suggestion request (p2e/suggest)
        candidates = [ws for ws in worksheets if header_of(ws, records_only=True) is not None]
        records_only = bool(candidates)
    if not candidates:
        for ws in worksheets:  # a header too far down: say where it is
            header = header_of(ws, limits.HEADER_REPORT_ROWS)
            if header is not None:
                raise header_too_far(ws.title, header.number)
        raise reject("no_action_sheet", name=path.name,
                     sheets=list_some([f"'{shorten(ws.title)}'" for ws in worksheets]) or "none")
    if len(candidates) > 1:
        raise reject("several_action_sheets", name=path.name,
                     sheets=list_some([f"'{shorten(ws.title)}'" for ws in candidates]))
    ws = candidates[0]
    reader = open_reader(ws)
    sheet = rows_module.build_sheet(path, ws.title, reader.rows(), merged=lambda: reader.merged_ranges,
                                    sheet_state=ws.state, column_hidden=reader.column_hidden, records_only=records_only)
    settings_ws = next((w for w in worksheets if w.title.strip().lower() == "settings" and w is not ws), None)
    if settings_ws is not None:
        read_settings_sheet(open_reader(settings_ws), settings_ws.title, settings_ws.state, sheet)
    return sheet
