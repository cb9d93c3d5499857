"""Rows and shared strings in the exact shape Excel writes them, read without a handler call per element.

A 100,000-row sheet has millions of elements; expat's handlers (:mod:`p2e.intake.worksheet`) cost a
Python call for each start and end, most of intake's time. Excel, LibreOffice, openpyxl and
xlsxwriter all write a sheet's rows in one plain shape::

    <row r="4" spans="1:14"><c r="A4"><v>100000</v></c><c r="B4" s="1" t="s"><v>15</v></c></row>

:func:`strict_row` matches one such row with one regular expression: unprefixed elements, double
quotes, no whitespace, no comments or character references, no entities but XML's five, nothing
that XML forbids, cell attributes ``r``, ``s``, ``t`` in that order and nothing else in a cell but
a formula, a value and a plain inline string. Anything else (rich text, a comment, a
pretty-printed file, an unusual attribute) is
*not* matched, and the sheet reader hands the rest of the sheet, from that row on, to expat's
handlers, which read every shape XML allows. A row this module reads gives exactly the
:class:`~p2e.intake.raw.RawRow` the handlers would give (tests/intake/test_strict.py reads every
test workbook both ways); what it cannot vouch for, it leaves to them.

>>> row = strict_row(b'<row r="4" spans="1:2"><c r="A4"><v>7</v></c><c r="B4" s="1" t="s"><v>15</v></c></row>', 0)
>>> row.attributes, row.cells, row.end
({'r': '4', 'spans': '1:2'}, [('A4', '', '', '', '7'), ('B4', '1', 's', '', '15')], 86)
>>> strict_row(b'<row r="4"><c r="A4" t="inlineStr"><is><t>x</t></is></c></row>', 0).cells
[('A4', '', 'inlineStr', '', ['x'])]
>>> strict_row(b'<row r="4"><c r="A4" t="inlineStr"><is><r><t>x</t></r></is></c></row>', 0) is None  # rich text: expat's
True
"""
from __future__ import annotations

import re
from operator import itemgetter
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from . import limits

# XML's Char production, less what a strict row never holds: "<" and "&" (markup and references), and
# carriage returns (XML turns them into line feeds). U+FFFE and U+FFFF are refused after decoding.
_CHAR = r"[^<&\r\x00-\x08\x0b\x0c\x0e-\x1f]"
TEXT = rf"{_CHAR}*(?:&(?:amp|lt|gt|quot|apos);{_CHAR}*)*"  # the five entities XML predefines; no character references
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]*(?::[A-Za-z_][A-Za-z0-9_.\-]*)?"
_ATTRIBUTE = rf' ({_NAME})="([^"<&\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f]*)"'


def _grouping_only(pattern: str) -> str:
    """The pattern with its capturing groups made non-capturing, to be used inside a larger one."""
    return re.sub(r"\((?!\?)", "(?:", pattern)


_FORMULA = rf'<f(?:{_grouping_only(_ATTRIBUTE)})*(?:/>|>{TEXT}</f>)'
# One cell: its reference, style, type, formula (the whole element, or "") and value text; with an inline
# string (openpyxl writes them), also the whole <is> element and its text.
_INLINE = rf'(<is><t(?: xml:space="preserve")?>({TEXT})</t></is>)'
_CELL_START = r'<c r="([A-Z]{1,3}[0-9]{1,7})"(?: s="([0-9]{1,9})")?(?: t="([a-zA-Z]{1,9})")?'
# Each cell whole (to check that the cells are all the row holds), then its parts.
_CELLS = re.compile(rf'({_CELL_START}(?:/>|>({_FORMULA})?(?:<v>({TEXT})</v>|<v ?/>)?</c>))')
_CELLS_INLINE = re.compile(rf'({_CELL_START}(?:/>|>({_FORMULA})?(?:<v>({TEXT})</v>|<v ?/>)?{_INLINE}?</c>))')
_ATTRIBUTES = re.compile(_ATTRIBUTE)
_ROW_START = re.compile(rf'<row((?:{_grouping_only(_ATTRIBUTE)})*)(/?)>'.encode())
_NOT_IN_XML = re.compile("[\ufffe\uffff]")
_WHOLE, _PARTS = itemgetter(0), itemgetter(1, 2, 3, 4, 5)


def start_tag(name: str) -> re.Pattern[bytes]:
    """The start tag of the element ``name``, unprefixed (so in the default namespace); group 1 is "/"
    when the element is empty."""
    return re.compile(rb"<" + name.encode() + rb'(?:[ \t\r\n]+[^\s=/>]+[ \t\r\n]*=[ \t\r\n]*(?:"[^"]*"|\'[^\']*\'))*[ \t\r\n]*(/?)>')


SHEET_DATA = start_tag("sheetData")
SHARED_STRINGS = start_tag("sst")
_DECLARATION = re.compile(rb'<\?xml[^>]*?encoding[ \t\r\n]*=[ \t\r\n]*["\']([A-Za-z0-9._\-]+)["\']')


@dataclass(slots=True)
class StrictRow:
    attributes: dict[str, str]                    # the row's attributes, by name as written
    cells: list[tuple[str, str, str, str, Any]]   # (reference, style, type, formula, text) as p2e.intake.cells has them
    end: int                                      # where the row ends in the buffer


def unescape(text: str) -> str:
    """The five entities XML predefines, as the characters they stand for.

    >>> print(unescape("a &amp;lt; b &lt; c &quot;d&apos;"))
    a &lt; b < c "d'
    """
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def utf8(head: bytes) -> bool:
    """Whether a part that starts with ``head`` is encoded in UTF-8 (what Excel writes), so that its rows
    can be matched as bytes. A UTF-16 part, or one that declares another encoding, is read by expat alone.

    >>> utf8(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'), utf8(b'<worksheet/>')
    (True, True)
    >>> utf8(b'<?xml version="1.0" encoding="windows-1252"?>'), utf8(b'\\xff\\xfe<\\x00')
    (False, False)
    """
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00", b"<\x00")):
        return False
    found = _DECLARATION.match(head)
    return found is None or found.group(1).upper() in (b"UTF-8", b"UTF8")


_ROW_NUMBER = re.compile(r' r="([0-9]{1,7})"')
# A sheet's rows mostly share their other attributes (spans, Excel's x14ac:dyDescent): each is read once.
_OTHER_ATTRIBUTES: dict[tuple[str, frozenset[str]], dict[str, str] | None] = {}


def row_attributes(head: str, declared: frozenset[str]) -> dict[str, str] | None:
    """A strict row's attributes by name, or None when expat must judge them (a namespace declared, a prefix
    not declared, an attribute twice).

    >>> row_attributes(' r="4" spans="1:2" x14ac:dyDescent="0.25"', frozenset({"x14ac"}))
    {'r': '4', 'spans': '1:2', 'x14ac:dyDescent': '0.25'}
    >>> row_attributes(' r="4" r="5"', frozenset()), row_attributes(' y:z="1"', frozenset())
    (None, None)
    """
    number = _ROW_NUMBER.match(head)
    if number is None:
        return _attributes(head, declared)
    rest = head[number.end():]
    key = (rest, declared)
    if key in _OTHER_ATTRIBUTES:
        others = _OTHER_ATTRIBUTES[key]
    else:
        others = _attributes(rest, declared)
        if others is not None and "r" in others:
            others = None
        if len(_OTHER_ATTRIBUTES) < 1000:
            _OTHER_ATTRIBUTES[key] = others
    if others is None:
        return None
    return {"r": number.group(1), **others}


def _attributes(head: str, declared: frozenset[str]) -> dict[str, str] | None:
    attributes: dict[str, str] = {}
    if not head:
        return attributes
    pairs = _ATTRIBUTES.findall(head)
    for name, value in pairs:
        prefix, colon, _ = name.partition(":")
        if name == "xmlns" or prefix == "xmlns" or (colon and prefix != "xml" and prefix not in declared):
            return None  # a namespace declared here, or a prefix not declared: expat decides
        attributes[name] = value
    if len(attributes) != len(pairs):  # an attribute twice: not well-formed, expat says so
        return None
    return attributes


def strict_row(buf: bytes, pos: int, declared: frozenset[str] = frozenset()) -> StrictRow | None:
    """The row that starts at ``buf[pos]`` if it is in the strict shape, else None (expat reads it).

    ``declared``: the namespace prefixes in scope, which a prefixed row attribute must use."""
    start = _ROW_START.match(buf, pos)
    if start is None:
        return None
    if start.group(2):  # <row .../>
        end = body_end = start.end()
    else:
        body_end = buf.find(b"</row>", start.end())
        if body_end < 0:
            return None
        end = body_end + 6
    whole = buf[pos:end]
    if b"]]>" in whole:  # XML forbids it in text
        return None
    if whole.isascii():
        text = whole.decode("ascii")
    else:
        try:
            text = whole.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _NOT_IN_XML.search(text):
            return None
    attributes = row_attributes(start.group(1).decode("utf-8"), declared)
    if attributes is None:
        return None
    cells: list[tuple[str, str, str, str, Any]] = []
    if body_end > start.end():
        body = text[start.end() - pos:body_end - pos] if len(text) == len(whole) else buf[start.end():body_end].decode("utf-8")
        if "<is>" in body:  # inline strings: their text, as the runs expat would collect
            found = _CELLS_INLINE.findall(body)
            cells = [(r, s, t, f, ([unescape(inline)] if whole_is else None) if t == "inlineStr" else v)
                     for _, r, s, t, f, v, whole_is, inline in found]
        else:
            found = _CELLS.findall(body)
            cells = list(map(_PARTS, found))
        if sum(map(len, map(_WHOLE, found))) != len(body):  # something between the cells: expat reads the row
            return None
        if "&" in body:
            cells = [(r, s, t, f, unescape(v) if v.__class__ is str and "&" in v else v) for r, s, t, f, v in cells]
    return StrictRow(attributes, cells, end)


def topped_up(rest: bytes, chunks: Iterator[bytes], least: int) -> tuple[bytes, bool]:
    """``rest`` with chunks added until it holds ``2 * least`` bytes or the part ends; and whether more is left.

    >>> topped_up(b"ab", iter([b"cd", b"ef", b"gh"]), 2)
    (b'abcd', True)
    >>> topped_up(b"ab", iter([b"cd"]), 4)
    (b'abcd', False)
    """
    pieces = [rest]
    size = len(rest)
    for chunk in chunks:
        pieces.append(chunk)
        size += len(chunk)
        if size >= 2 * least:
            return b"".join(pieces), True
    return b"".join(pieces), False


def enter(parser: Any, chunks: Iterator[bytes], tag: re.Pattern[bytes], seen_at: Callable[[], int]
          ) -> tuple[bytes, int, bool]:
    """Feed ``parser`` (expat, with the part's handlers) the part up to the end of the start tag ``tag``
    matches, if the part is UTF-8 and expat's handlers saw that very tag there (``seen_at()``: where
    they saw it). Returns what was read past it (or the whole head, when not), how many bytes expat
    was given, and whether the strict items may be read from there."""
    head = b""
    found = None
    for chunk in chunks:
        head += chunk
        found = tag.search(head)
        if found or len(head) > limits.MAX_XML_RUN_BYTES or not utf8(head):
            break
    if found is None or found.group(1) or not utf8(head):  # no tag met, an empty element, or not UTF-8
        return head, 0, False
    prefix = head[:found.end()]
    parser.Parse(prefix, False)
    return head[found.end():], len(prefix), seen_at() == found.start()  # else the tag was in a comment, say
