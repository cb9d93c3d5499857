"""Reading an .xlsx/.xlsm staff workbook: bound its parts, open the package, pick the action sheet.

The sheet that has an Action heading in its first rows is the action sheet (exactly one must);
a sheet named Settings beside it gives the Mode and the addresses to email. Every way the
package can fail becomes one plain :class:`~p2e.intake.messages.FileRejected`: incomplete
(``truncated``), damaged XML (``damaged``), unsafe XML (``unsafe``), not a workbook.
"""
from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

from defusedxml import DefusedXmlException

from ..model import Sheet, shorten
from . import limits
from . import rows as rows_module
from .headers import find_header, header_too_far
from .limits import TextBudget
from .messages import list_some, reject
from .package import Package, PackageError, SheetPart, open_package
from .parts import check_other_part, check_sheet_part, read_whole_at_open
from .raw import RawRow
from .settings_sheet import read_settings_sheet
from .sniff import check_package
from .worksheet import SheetReader
from .xmlstream import RunTooLong

_WORKSHEET_PART = re.compile(r"(^|/)worksheets/[^/]+\.xml$", re.IGNORECASE)


def read_xlsx(path: Path, max_file_mb: float) -> Sheet:
    """The action sheet of an .xlsx/.xlsm workbook (or an .xlsx saved under another name)."""
    name = path.name
    members = check_package(path, max_file_mb)
    budget = TextBudget(name)
    try:
        with zipfile.ZipFile(path) as archive:
            for member in members:
                if _WORKSHEET_PART.search(member.filename):
                    check_sheet_part(archive, member.filename, name)
                elif read_whole_at_open(member.filename):
                    check_other_part(archive, member.filename, name)
            try:
                book = open_package(archive, budget)
            except (DefusedXmlException, ElementTree.ParseError):
                raise
            except (PackageError, KeyError, IndexError, TypeError, ValueError, OSError) as exc:
                cause = _xml_cause(exc)
                if cause is not None:
                    raise cause from None
                raise reject("not_a_workbook", name=name, suffix=path.suffix.lower()) from None
            return _read_book(book, path, budget)
    except RunTooLong:
        raise reject("run_too_long", name=name) from None
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise reject("truncated", name=name) from None
    except ElementTree.ParseError:
        raise reject("damaged", name=name) from None
    except DefusedXmlException:
        raise reject("unsafe", name=name) from None


def _xml_cause(exc: BaseException | None) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (DefusedXmlException, ElementTree.ParseError)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _read_book(book: Package, path: Path, budget: TextBudget) -> Sheet:
    worksheets = book.sheets

    def header_of(ws: SheetPart, limit: int | None = None) -> RawRow | None:
        rows = SheetReader(book, ws, budget).rows()
        try:
            return find_header(rows, limit)
        finally:
            rows.close()

    candidates = [ws for ws in worksheets if header_of(ws) is not None]
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
    reader = SheetReader(book, ws, budget)
    sheet = rows_module.build_sheet(path, ws.title, reader.rows(), merged=lambda: reader.merged_ranges,
                                    sheet_state=ws.state, column_hidden=reader.column_hidden)
    settings_ws = next((w for w in worksheets if w.title.strip().lower() == "settings" and w is not ws), None)
    if settings_ws is not None:
        read_settings_sheet(book, settings_ws, sheet, budget)
    return sheet
