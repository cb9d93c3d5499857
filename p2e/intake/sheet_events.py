"""The expat handlers that read a worksheet part in any shape XML allows (the slow, general way).

:func:`sheet_parser` makes one expat parser (:mod:`p2e.intake.expat`: safe, no element objects
built, so memory stays flat whatever the sheet holds) whose handlers collect each row's cells as
``(reference, style, type, formula, text)`` (:mod:`p2e.intake.cells`) and hand each finished row,
made by the reader's :class:`~p2e.intake.cells.RawRowMaker`, to a list. They also note what comes
before and after the rows: hidden columns, rows hidden by default, merged ranges, the namespace
prefixes in scope, and where the sheet data starts (for :mod:`p2e.intake.worksheet`). The handlers
do as little as they can: they run once per element, millions of times for a large sheet.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import limits
from .cells import Cell
from .expat import safe_parser
from .limits import EXCEL_MAX_COLUMN, EXCEL_MAX_ROW
from .raw import RawRow

if TYPE_CHECKING:
    from .worksheet import SheetReader

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "  # expat's "uri local" names
_ROW, _C, _V, _F, _IS, _T, _RPH = (_NS + t for t in ("row", "c", "v", "f", "is", "t", "rPh"))
_MERGE_CELL, _COL, _SHEET_FORMAT, _SHEET_DATA = (_NS + t for t in ("mergeCell", "col", "sheetFormatPr", "sheetData"))
# expat hands over these very strings for the names (its intern table), so comparing them is quick
_NAMES = {name: name for name in (_ROW, _C, _V, _F, _IS, _T, _RPH, _MERGE_CELL, _COL, _SHEET_FORMAT, _SHEET_DATA)}


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


def start_row(reader: SheetReader, attrs: Mapping[str, str]) -> tuple[int, bool]:
    """A row starts: its number (the one after the last when it has none) and whether it is hidden."""
    r = attrs.get("r")
    try:
        number = row_number(r) if r else reader.counter + 1
    except (ValueError, OverflowError):
        raise reader.maker.refuse("damaged", row=reader.counter + 1) from None
    if not 0 < number <= EXCEL_MAX_ROW:
        raise reader.maker.refuse("row_past_grid", row=number if number > 0 else None, row_number=number)
    reader.counter = number
    return number, is_hidden(attrs, "ht", reader.rows_hidden_by_default)


def sheet_parser(reader: SheetReader, ready: list[RawRow]) -> tuple[Any, Callable[[], bool]]:
    """An expat parser for ``reader``'s sheet, and the ``in_long_text`` check :func:`~p2e.intake.expat.feed` needs."""
    refuse = reader.maker.refuse
    make_row = reader.maker.row
    parts: list[str] = []          # the pieces of the text being read (expat may split a text)
    cells: list[Cell] = []         # the cells of the row being read
    cell: dict[str, Any] = {}      # the attributes of the cell being read
    inline: list[str] | None = None  # the texts of an inline string's runs
    text: str | None = None
    number = 0
    hidden = in_row = in_cell = in_text = has_formula = in_phonetic = False
    most = limits.MAX_ROW_ELEMENTS

    def start(name: str, attrs: dict[str, Any]) -> None:
        nonlocal cell, text, inline, has_formula, in_cell, in_text
        if name == _C:
            if in_row:
                if len(cells) >= most:
                    raise refuse("damaged", row=number)
                cell, text, inline, has_formula, in_cell = attrs, None, None, False, True
        elif name == _V:
            if in_cell:
                parts.clear()
                in_text = True
        else:
            rare_start(name, attrs)

    def rare_start(name: str, attrs: dict[str, str]) -> None:
        nonlocal inline, in_text, in_phonetic, has_formula, number, hidden, in_row
        if name == _F:
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
            number, hidden = start_row(reader, attrs)
            cells.clear()
            in_row = True
        elif name == _MERGE_CELL:
            ref = attrs.get("ref")
            if ref:
                reader.budget.add_text(ref)
                reader.merged.append(ref)
        elif name == _COL:
            if is_hidden(attrs, "width", False):
                try:
                    low, high = int(attrs.get("min", "")) - 1, int(attrs.get("max", "")) - 1
                except ValueError:
                    raise refuse("damaged") from None
                if len(reader.hidden_columns) >= EXCEL_MAX_COLUMN:
                    raise refuse("damaged")
                reader.hidden_columns.append((low, high))
        elif name == _SHEET_FORMAT:
            if attrs.get("zeroHeight") in ("1", "true"):
                reader.rows_hidden_by_default = True
        elif name == _SHEET_DATA:
            reader.sheet_data_at = parser.CurrentByteIndex

    def end(name: str) -> None:
        nonlocal text, in_text, in_cell
        if name == _V:
            if in_text:
                text = parts[0] if len(parts) == 1 else "".join(parts)
                in_text = False
        elif name == _C:
            if in_cell:
                in_cell = False
                kind = cell.get("t")
                cells.append((cell.get("r"), cell.get("s"), kind, has_formula,
                              inline if kind == "inlineStr" else text))
        else:
            rare_end(name)

    def rare_end(name: str) -> None:
        nonlocal in_text, in_phonetic, in_row
        if name == _T:
            if in_text and inline is not None:
                inline.append(parts[0] if len(parts) == 1 else "".join(parts))
                in_text = False
        elif name == _RPH:
            in_phonetic = False
        elif name == _ROW:
            in_row = False
            row = make_row(number, cells, hidden)
            if row is not None:
                ready.append(row)
            cells.clear()

    def declared(prefix: str | None, uri: str) -> None:
        reader.prefixes.append(prefix)

    def undeclared(prefix: str | None) -> None:
        reader.prefixes.remove(prefix)

    def long_text() -> bool:
        if not in_text:
            parts.clear()  # text between elements (indentation) is never kept
            return False
        return len(parts) > 1 and sum(map(len, parts)) > limits.MAX_XML_RUN_BYTES

    parser = safe_parser(dict(_NAMES))
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = parts.append
    parser.StartNamespaceDeclHandler = declared
    parser.EndNamespaceDeclHandler = undeclared
    return parser, long_text
