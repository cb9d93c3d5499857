"""Reading an OpenDocument spreadsheet (.ods, LibreOffice's default) like an .xlsx workbook.

The same rules hold as for .xlsx: a number in an ID column is checked for Excel's rounding (the
cell's ``office:value-type`` tells a number from text), hidden rows, columns and sheets that ask
for a change in Alma are refused, so are merged cells and formulas with no cached value, and the
Settings sheet is read. The package is read with the public ``zipfile`` API and bounded like an
.xlsx one (size unpacked, elements, rows, text); its XML is streamed with the fast, safe parser
(:mod:`p2e.intake.xmlstream`). A sheet is hidden when its table style says ``table:display="false"``
(in ``content.xml``'s automatic styles or in ``styles.xml``).

    sheet = read_ods(Path("inbox/p2e-annotated.ods"), max_file_mb=50.0)

>>> sorted(hidden_styles_in(parse_part(HIDDEN_STYLE_EXAMPLE)))
['ta2']
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree import ElementTree
from xml.etree.ElementTree import Element


from ..model import Sheet
from . import limits
from .book import read_book
from .limits import TextBudget
from .messages import plain_refusals, reject
from .ods_table import TABLE, TABLE_ROW, TABLE_TABLE, TableReader
from .parts import check_other_part
from .xmlstream import iterparse, parse_part

CONTENT, STYLES = "content.xml", "styles.xml"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_STYLE_STYLE = _STYLE + "style"
_BODY = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}body"
_NAME, _STYLE_NAME, _DISPLAY = TABLE + "name", TABLE + "style-name", TABLE + "display"
HIDDEN_STYLE_EXAMPLE = (  # a table style as LibreOffice writes it for a hidden sheet
    b'<s xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:table="urn:oasis:names:tc:'
    b'opendocument:xmlns:table:1.0"><style:style style:name="ta2" style:family="table"><style:table-properties '
    b'table:display="false"/></style:style></s>')


@dataclass
class OdsSheet:
    """One table of the spreadsheet: its tab name, its state (visible or hidden) and its place in content.xml."""

    title: str
    index: int
    state: str = "visible"


def read_ods(path: Path, max_file_mb: float) -> Sheet:
    """The action sheet of an .ods spreadsheet (or one saved under another name)."""
    name = path.name
    budget = TextBudget(name)
    with plain_refusals(name):
        with zipfile.ZipFile(path) as archive:
            _check_package(archive, path, max_file_mb)
            hidden_styles = _hidden_table_styles(archive) if STYLES in archive.namelist() else set()

            def open_content() -> IO[bytes]:
                return archive.open(CONTENT)

            with open_content() as src:
                sheets = scan_tables(src, hidden_styles, name)
            return read_book(path, sheets, lambda ws: TableReader(open_content, ws.index, ws.title, budget))


def _check_package(archive: zipfile.ZipFile, path: Path, max_file_mb: float) -> None:
    """Refuse a zip bomb, a package with no content, and a styles part far bigger than LibreOffice writes."""
    members = archive.infolist()
    unpacked = sum(m.file_size for m in members)
    limit = max_file_mb * limits.MAX_UNPACK_RATIO
    if unpacked > limit * 1024 * 1024:
        raise reject("too_big_unpacked", name=path.name, size=unpacked / 1024 / 1024, limit=limit)
    sizes = {m.filename: m.file_size for m in members}
    if CONTENT not in sizes:
        raise reject("not_a_workbook", name=path.name, suffix=path.suffix.lower())
    if STYLES in sizes:
        if sizes[STYLES] > limits.MAX_OTHER_PART_BYTES:
            raise reject("damaged", name=path.name)
        check_other_part(archive, STYLES, path.name)


def _hidden_table_styles(archive: zipfile.ZipFile) -> set[str]:
    """The names of the table styles in styles.xml that hide a sheet (``table:display="false"``)."""
    return hidden_styles_in(parse_part(archive.read(STYLES)))


def hidden_styles_in(root: Element) -> set[str]:
    """The table styles under ``root`` whose table properties say ``table:display="false"``."""
    hidden = set()
    for style in root.iter(_STYLE_STYLE):
        if style.get(_STYLE + "family") != "table":
            continue
        properties = style.find(_STYLE + "table-properties")
        if properties is not None and properties.get(_DISPLAY) == "false":
            hidden.add(style.get(_STYLE + "name", ""))
    return hidden


def scan_tables(src: IO[bytes], hidden_styles: set[str], name: str) -> list[OdsSheet]:
    """The tables of content.xml in tab order, each hidden or not. The whole part is read once, bounded and
    flat: more elements than MAX_CELLS allows, or more rows in one table than Excel has, is refused; so are
    more elements before the body (fonts, styles) than any part read whole may hold."""
    hidden_styles = set(hidden_styles)
    sheets: list[OdsSheet] = []
    elements = rows = 0
    max_elements = 4 * limits.MAX_CELLS
    root: Element | None = None
    holder: Element | None = None  # the body, then the table being read: emptied as it fills
    for _event, element in iterparse(src, events=("start",)):
        elements += 1
        if elements > max_elements:
            raise reject("sheet_too_big", name=name, limit=limits.MAX_CELLS)
        tag = element.tag
        if tag == TABLE_ROW:
            rows += 1
            if rows > limits.EXCEL_MAX_ROW:
                raise reject("sheet_too_big", name=name, limit=limits.MAX_CELLS)
        elif tag == TABLE_TABLE:
            sheets.append(OdsSheet(element.get(_NAME, ""), len(sheets), element.get(_STYLE_NAME, "")))
            rows = 0
            holder = element
        elif tag == _BODY and root is not None and holder is None:
            hidden_styles |= hidden_styles_in(root)  # the automatic styles are complete when the body starts
            root.clear()
            holder = element
        elif root is None:
            root = element
        if holder is None:
            if elements > limits.MAX_PART_ELEMENTS:
                raise reject("damaged", name=name)
        elif elements % 4096 == 0:
            holder.clear()  # what was read is finished with (its name and style were taken at its start)
    for sheet in sheets:  # the state field held the style name until all styles were known
        sheet.state = "hidden" if sheet.state in hidden_styles else "visible"
    return sheets
