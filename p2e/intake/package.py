"""Opening an .xlsx/.xlsm package with the public ``zipfile`` API: its sheets, text and date styles.

``[Content_Types].xml`` names the workbook part and the shared strings; the workbook and its
relationships name each sheet's part and state (visible, hidden, veryHidden); ``xl/styles.xml``
says which cell styles show a date (cellXfs and numFmts, judged by openpyxl's public
``is_date_format``); the shared strings are streamed and bounded (:class:`TextBudget`). The
small parts are parsed whole with defusedxml; nothing is read through a private attribute.

    with zipfile.ZipFile(path) as archive:
        book = open_package(archive, TextBudget(path.name))
        for sheet in book.sheets:
            print(sheet.title, sheet.state, sheet.part)
"""
from __future__ import annotations

import datetime
import posixpath
import zipfile
from dataclasses import dataclass, field
from typing import IO

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

from . import limits
from .limits import TextBudget
from .shared_strings import read_shared_strings
from .xmlstream import parse_part

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

# The workbook part's content type, in the order a template wins over a workbook (as openpyxl does).
WORKBOOK_TYPES = (
    "application/vnd.ms-excel.template.macroEnabled.main+xml",                       # .xltm
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",  # .xltx
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",                          # .xlsm
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",     # .xlsx
)
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
STYLES_PART = "xl/styles.xml"


class PackageError(Exception):
    """The package lacks a part every workbook has, or names one that is not there."""


@dataclass
class SheetPart:
    """One worksheet of the workbook: its tab name, its state and the zip member holding it."""

    title: str
    part: str
    state: str = "visible"


@dataclass
class Package:
    """What intake needs of an open workbook; ``open(sheet)`` streams a sheet's XML."""

    archive: zipfile.ZipFile
    sheets: list[SheetPart]
    strings: list[str] = field(default_factory=list)
    date_styles: frozenset[int] = frozenset()
    timedelta_styles: frozenset[int] = frozenset()
    epoch: datetime.datetime = CALENDAR_WINDOWS_1900

    def open(self, sheet: SheetPart) -> IO[bytes]:
        return self.archive.open(sheet.part)


def open_package(archive: zipfile.ZipFile, budget: TextBudget) -> Package:
    """Read the workbook's structure, styles and shared strings (the sheets themselves stay unread)."""
    overrides, defaults = _content_types(archive)
    workbook_part = next((overrides[t] for t in WORKBOOK_TYPES if t in overrides), None)
    if workbook_part is None:
        if not set(defaults) & set(WORKBOOK_TYPES):
            raise PackageError("no workbook part")
        workbook_part = "xl/workbook.xml"
    strings: list[str] = []
    if SHARED_STRINGS_TYPE in overrides:
        with archive.open(overrides[SHARED_STRINGS_TYPE]) as src:
            strings = read_shared_strings(src, budget)
    sheets, date1904 = _workbook(archive, workbook_part)
    date_styles, timedelta_styles = _date_styles(archive)
    return Package(archive, sheets, strings, date_styles, timedelta_styles,
                   CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)


def _content_types(archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str]]:
    """{content type: first part name} of the overrides, and {content type: extension} of the defaults."""
    root = parse_part(archive.read("[Content_Types].xml"))
    overrides: dict[str, str] = {}
    for node in root.iter(_CT + "Override"):
        overrides.setdefault(node.get("ContentType", ""), node.get("PartName", "").lstrip("/"))
    defaults = {node.get("ContentType", ""): node.get("Extension", "") for node in root.iter(_CT + "Default")}
    return overrides, defaults


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """{Id: (Type, member)} of a part's relationships, targets resolved to zip member names."""
    folder, base = posixpath.split(part)  # targets are relative to the part's own folder
    root = parse_part(archive.read(posixpath.join(folder, "_rels", base + ".rels")))
    rels: dict[str, tuple[str, str]] = {}
    for node in root.iter(_RELS + "Relationship"):
        target = node.get("Target", "")
        if node.get("TargetMode") != "External":
            target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        rels[node.get("Id", "")] = (node.get("Type", ""), target)
    return rels


def _workbook(archive: zipfile.ZipFile, workbook_part: str) -> tuple[list[SheetPart], bool]:
    """The worksheets in tab order (chart sheets and sheets whose part is missing left out), and date1904."""
    root = parse_part(archive.read(workbook_part))
    properties = root.find(_NS + "workbookPr")
    flag = properties.get("date1904") if properties is not None else None
    date1904 = flag is not None and flag.strip().lower() not in ("", "0", "false", "f")
    listed = [node for node in root.iter(_NS + "sheet") if node.get(_REL_ID)]
    rels = _relationships(archive, workbook_part) if listed else {}
    names = set(archive.namelist())
    sheets = []
    for node in listed:
        kind, target = rels[node.get(_REL_ID, "")]  # a sheet with no relationship: KeyError, not a workbook
        if target in names and "chartsheet" not in kind:
            sheets.append(SheetPart(node.get("name", ""), target, node.get("state") or "visible"))
    return sheets, date1904


def _date_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], frozenset[int]]:
    """The cell styles (cellXfs indexes) whose number format shows a date, and those that show a duration."""
    try:
        data = archive.read(STYLES_PART)
    except KeyError:
        return frozenset(), frozenset()
    root = parse_part(data)
    custom = {int(node.get("numFmtId", "")): node.get("formatCode", "")
              for node in root.iter(_NS + "numFmt")}
    dates, durations = set(), set()
    xfs = root.find(_NS + "cellXfs")
    for index, xf in enumerate(xfs.iter(_NS + "xf") if xfs is not None else ()):
        number_format = int(xf.get("numFmtId") or 0)
        code = custom.get(number_format) or BUILTIN_FORMATS.get(number_format)
        if code is not None and is_date_format(code):
            dates.add(index)
        if code is not None and is_timedelta_format(code):
            durations.add(index)
    return frozenset(dates), frozenset(durations)
