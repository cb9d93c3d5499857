"""The start-up check of the libraries the workbook reader depends on (openpyxl, defusedxml, xlrd).

A library version that no longer works as the reader expects is the operator's problem, never
the staff file's: ``run``, ``validate`` and ``watch`` call :func:`check_libraries` before reading
any file, and an incompatible version stops them with a message naming the library, instead of
every staff file being refused as unreadable.

>>> check_libraries()  # the pinned versions in requirements.txt work
"""
from __future__ import annotations

import datetime
import io
import zipfile
from importlib import metadata

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# A workbook of one sheet: a number, a shared string and a date (style 1 shows yyyy-mm-dd).
_PARTS = {
    "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "xl/workbook.xml": f'<workbook xmlns="{_NS}" xmlns:r="{_R}"><sheets>'
    '<sheet name="P2E" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    "xl/styles.xml": f'<styleSheet xmlns="{_NS}"><numFmts count="1"><numFmt numFmtId="164" '
    'formatCode="yyyy-mm-dd"/></numFmts><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164"/></cellXfs>'
    '</styleSheet>',
    "xl/sharedStrings.xml": f'<sst xmlns="{_NS}"><si><t>delete</t></si></sst>',
    "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{_NS}"><sheetData><row r="1"><c r="A1"><v>991234</v></c>'
    '<c r="B1" t="s"><v>0</v></c><c r="C1" s="1"><v>45000</v></c></row></sheetData><mergeCells>'
    '<mergeCell ref="D1:E1"/></mergeCells></worksheet>',
}
_EXPECTED = [991234, "delete", datetime.datetime(2023, 3, 15)]
# What p2e.intake.xls calls on xlrd (an .xls cannot be built in memory to read back, so the names are checked).
_XLRD_NAMES = ("open_workbook", "XL_CELL_BOOLEAN", "XL_CELL_DATE", "XL_CELL_ERROR", "XL_CELL_NUMBER", "XL_CELL_TEXT",
               "xldate", "error_text_from_code", "biffh", "compdoc")


class LibraryProblem(Exception):
    """A library the reader depends on is missing or does not work as it expects (``library`` names it)."""

    def __init__(self, library: str, detail: str):
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "(not installed)"
        self.library = library
        super().__init__(
            f"The workbook reader does not work with the installed {library} {version}: {detail}. Install the "
            f"version named in requirements.txt (for example: .venv/bin/pip install -r requirements.txt) and "
            f"start again. Staff files are not at fault.")


def check_libraries() -> None:
    """Read a tiny workbook built in memory through the whole reader; raise :class:`LibraryProblem` if it fails."""
    try:
        import defusedxml.ElementTree  # noqa: F401
        from defusedxml import DefusedXmlException
    except ImportError as exc:
        raise LibraryProblem("defusedxml", f"it cannot be imported ({exc})") from None
    try:
        from openpyxl.styles import numbers  # noqa: F401
        from openpyxl.utils import cell, datetime as openpyxl_datetime  # noqa: F401
        from . import cells, package, worksheet  # noqa: F401
    except ImportError as exc:
        library = "defusedxml" if "defusedxml" in str(exc) else "openpyxl"
        raise LibraryProblem(library, f"a name the reader uses is missing ({exc})") from None
    try:
        import xlrd  # .xls (p2e.intake.xls): the names it uses must still be there
    except ImportError as exc:
        raise LibraryProblem("xlrd", f"it cannot be imported ({exc})") from None
    missing = [name for name in _XLRD_NAMES if not hasattr(xlrd, name)]
    if missing:
        raise LibraryProblem("xlrd", f"a name the reader uses is missing (xlrd.{missing[0]})")
    try:
        from .xmlstream import parse_part

        parse_part(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    except DefusedXmlException:
        pass
    except Exception as exc:  # noqa: BLE001 - any other outcome means defusedxml changed
        raise LibraryProblem("defusedxml", f"it no longer refuses XML entities as expected ({exc})") from None
    else:
        raise LibraryProblem("defusedxml", "it no longer refuses XML entities")
    from .limits import TextBudget

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
    try:
        with zipfile.ZipFile(data) as archive:
            book = package.open_package(archive, TextBudget("self-test.xlsx"))
            reader = worksheet.SheetReader(book, book.sheets[0], TextBudget("self-test.xlsx"))
            values = [row.values for row in reader.rows()]
            merged = reader.merged_ranges
    except Exception as exc:  # noqa: BLE001 - the reader's own code is tested; a failure here is the library's
        raise LibraryProblem("openpyxl", f"reading a test workbook failed ({type(exc).__name__}: {exc})") from None
    if values != [_EXPECTED] or merged != [("D1:E1", 3, 1, 4, 1)]:
        raise LibraryProblem("openpyxl", f"a test workbook read back as {values} {merged}, not {[_EXPECTED]}")
