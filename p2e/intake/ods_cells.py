"""One OpenDocument (.ods) cell's value, as the .xlsx reader gives it: numbers stay numbers, text stays text.

LibreOffice says what each cell holds in ``office:value-type``: a number (``float``, ``percentage``,
``currency``: its ``office:value``), a ``date`` or ``time``, a ``boolean``, or a ``string`` (the text
of its paragraphs). The Excel-rounding check on IDs depends on telling a number from text, exactly
as for .xlsx. A cell longer than Excel allows is refused before it is held.

>>> number("991234"), number("9.91234567890123E+17"), number("0.5")
(991234, 9.91234567890123e+17, 0.5)
>>> duration("PT12H30M05S"), duration("P1DT0H")
(datetime.timedelta(seconds=45005), datetime.timedelta(days=1))
"""
from __future__ import annotations

import datetime
import re
from typing import Any
from xml.etree.ElementTree import Element

from . import limits

OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_VALUE_TYPE, _VALUE = OFFICE + "value-type", OFFICE + "value"
_DATE, _TIME, _BOOLEAN, _STRING = (OFFICE + t for t in ("date-value", "time-value", "boolean-value", "string-value"))
_P, _H, _S, _TAB, _BREAK = (TEXT + t for t in ("p", "h", "s", "tab", "line-break"))
_C = TEXT + "c"
NUMBER_TYPES = frozenset({"float", "percentage", "currency"})
_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


class CellTooLong(Exception):
    """A cell's text is longer than Excel allows (``length`` characters, or more)."""

    def __init__(self, length: int):
        super().__init__(length)
        self.length = length


class Unreadable(Exception):
    """A cell says it holds a kind of value that is not there, or cannot be read."""


def number(text: str) -> int | float:
    """A cell's ``office:value``: an int when written without a point or exponent, as .xlsx gives it."""
    text = text.strip()
    if len(text) > limits.MAX_NUMBER_CHARS:  # a huge integer would be held whole
        raise Unreadable(text[:40])
    try:
        return float(text) if ("." in text or "E" in text or "e" in text) else int(text)
    except ValueError:
        value = float(text)  # "inf", "nan" and the like; junk raises ValueError
        return value


def duration(text: str) -> datetime.timedelta:
    """An ISO 8601 duration as LibreOffice writes a time (``PT12H30M05S``)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise Unreadable(text[:40])
    minus, days, hours, minutes, seconds = match.groups()
    value = datetime.timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                               seconds=float(seconds or 0))
    return -value if minus else value


def paragraph_text(cell: Element) -> str | None:
    """The text of a cell's paragraphs, one line each (comments and shapes left out); None when it has none.

    (No nested functions: intake runs with the cyclic garbage collector off, and a closure that calls
    itself is a cycle that would stay in memory for every cell.)"""
    parts: list[str] = []
    size = 0
    found = False
    for paragraph in cell:
        if paragraph.tag != _P and paragraph.tag != _H:
            continue
        if found:  # one line each
            parts.append("\n")
            size += 1
        found = True
        todo: list[Element | str] = [paragraph]
        while todo:
            item = todo.pop()
            if isinstance(item, str):
                piece = item
            elif item.tag == _S and item is not paragraph:
                try:
                    count = int(item.get(_C) or 1)
                except ValueError:
                    raise Unreadable("text:c") from None
                if count > limits.EXCEL_MAX_CELL_CHARS:
                    raise CellTooLong(count)
                piece = " " * max(count, 0)
            elif item.tag == _TAB:
                piece = "\t"
            elif item.tag == _BREAK:
                piece = "\n"
            else:  # the paragraph, spans, links, fields: their text, then their children's, each with its tail
                piece = item.text or ""
                for child in reversed(item):
                    if child.tail:
                        todo.append(child.tail)
                    todo.append(child)
            if piece:
                size += len(piece)
                if size > limits.EXCEL_MAX_CELL_CHARS:
                    raise CellTooLong(size)
                parts.append(piece)
    return "".join(parts) if found else None


def cell_value(cell: Element) -> Any:
    """What a cell holds, as the .xlsx reader gives it: int or float, datetime, timedelta, bool, str or None."""
    kind = cell.get(_VALUE_TYPE)
    if kind in NUMBER_TYPES:
        value = cell.get(_VALUE)
        return None if value is None else number(value)
    if kind == "date":
        value = cell.get(_DATE)
        if value is None:
            return None
        try:
            return datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise Unreadable(value[:40]) from None
    if kind == "time":
        value = cell.get(_TIME)
        return None if value is None else duration(value)
    if kind == "boolean":
        value = cell.get(_BOOLEAN)
        return None if value is None else value.strip().lower() in ("true", "1")
    text = cell.get(_STRING) if kind == "string" else None
    if text is None:
        children = len(cell)
        if children == 0:  # an empty cell
            return None
        if children == 1 and cell[0].tag == _P and not len(cell[0]):  # one plain paragraph: most cells
            text = cell[0].text or ""
        else:
            text = paragraph_text(cell)
    if text is None or (kind is None and text == ""):
        return None
    if len(text) > limits.EXCEL_MAX_CELL_CHARS:
        raise CellTooLong(len(text))
    return text
