"""Bounding a workbook's XML parts before they are read: element counts and rows past Excel's grid.

Each check streams the part with the fast parser (:mod:`p2e.intake.xmlstream`) and refuses it
(:class:`~p2e.intake.messages.FileRejected`) as soon as it holds more than Excel ever writes.
"""
from __future__ import annotations

import zipfile
from xml.etree.ElementTree import Element

from . import limits
from .messages import reject
from .xmlstream import iterparse

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_DIMENSION = _NS + "dimension"
_SHEET_DATA = _NS + "sheetData"
_NOTHING = Element("nothing")  # a stand-in until the first element is met


def check_sheet_part(archive: zipfile.ZipFile, member: str, name: str) -> None:
    """Refuse a sheet whose opening runs far past what Excel writes, before any sheet is read.

    Excel writes the sheet's ``<dimension>`` before ``<sheetData>``; when it is missing (it is optional,
    and some programs leave it out) this pass goes on to the end of ``<sheetData>`` and refuses a sheet
    with more rows than Excel has or far more elements than MAX_CELLS allows, or an XML run longer than
    any cell. (openpyxl's reader, used until issue 11, read such a sheet whole to find its size; the
    bound stays so that such a file gets the same message.)
    """
    max_elements = 4 * limits.MAX_CELLS
    with archive.open(member) as src:
        depth = elements = rows = 0
        root = section = _NOTHING
        for event, element in iterparse(src, events=("start", "end")):
            if event == "start":
                if depth == 0:
                    root = element
                elif depth == 1:
                    section = element
                    if element.tag == _DIMENSION:
                        return  # Excel's own order: the size comes first
                elements += 1
                if elements > max_elements:
                    raise reject("sheet_too_big", name=name, limit=limits.MAX_CELLS)
                depth += 1
                continue
            depth -= 1
            if depth == 2:
                rows += 1
                if rows > limits.EXCEL_MAX_ROW:
                    raise reject("sheet_too_big", name=name, limit=limits.MAX_CELLS)
                section.clear()
            elif depth == 1:
                if element.tag == _SHEET_DATA:
                    return  # the rows are over
                root.clear()


def read_whole_at_open(member: str) -> bool:
    """The parts read whole when a workbook is opened (see :mod:`p2e.intake.package`), and those a
    whole-part reader would read: the content types, the package and workbook relationships, the
    workbook, its styles and the document properties. (Sheets and shared strings are read as streams;
    comments and drawings are not read.)

    >>> read_whole_at_open("xl/styles.xml"), read_whole_at_open("xl/comments1.xml")
    (True, False)
    """
    lower = member.lower()
    if lower == "[content_types].xml" or lower.startswith("docprops/"):
        return True
    if lower.endswith(".rels"):
        return lower.count("/") <= 2  # _rels/.rels, xl/_rels/workbook.xml.rels
    return lower.startswith("xl/") and lower.count("/") == 1 and lower.endswith(".xml") and (
        "workbook" in lower or "styles" in lower)  # xl/comments1.xml, xl/calcChain.xml, ... are not read


def check_other_part(archive: zipfile.ZipFile, member: str, name: str) -> None:
    """Refuse an XML part read whole (styles, workbook, properties, relationships) that holds far more
    elements than Excel ever writes (64,000 cell styles at most): a whole-part reader builds an object
    for each (300,000 tiny style elements, 5 MB unpacked, took openpyxl 14 s and 254 MB)."""
    with archive.open(member) as src:
        depth = elements = 0
        root = section = _NOTHING
        for event, element in iterparse(src, events=("start", "end")):
            if event == "start":
                if depth == 0:
                    root = element
                elif depth == 1:
                    section = element
                elements += 1
                if elements > limits.MAX_PART_ELEMENTS:
                    raise reject("damaged", name=name)
                depth += 1
                continue
            depth -= 1
            if depth == 2:
                section.clear()
            elif depth == 1:
                root.clear()
