"""Reading an .xlsx/.xlsm staff workbook: bound its parts, open the package, pick the action sheet.

The action sheet and the Settings sheet are chosen as for every workbook (:mod:`p2e.intake.book`).
Every way the package can fail becomes one plain :class:`~p2e.intake.messages.FileRejected`:
incomplete (``truncated``), damaged XML (``damaged``), unsafe XML (``unsafe``), not a workbook.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

from defusedxml import DefusedXmlException

from ..model import Sheet
from .book import read_book
from .expat import UnsafeXml
from .limits import TextBudget
from .messages import plain_refusals, reject
from .package import Package, PackageError, open_package
from .parts import check_other_part, check_sheet_part, read_whole_at_open
from .sniff import check_package
from .worksheet import SheetReader

_WORKSHEET_PART = re.compile(r"(^|/)worksheets/[^/]+\.xml$", re.IGNORECASE)


def read_xlsx(path: Path, max_file_mb: float) -> Sheet:
    """The action sheet of an .xlsx/.xlsm workbook (or an .xlsx saved under another name)."""
    name = path.name
    members = check_package(path, max_file_mb)
    budget = TextBudget(name)
    with plain_refusals(name):
        with zipfile.ZipFile(path) as archive:
            for member in members:
                if _WORKSHEET_PART.search(member.filename):
                    check_sheet_part(archive, member.filename, name)
                elif read_whole_at_open(member.filename):
                    check_other_part(archive, member.filename, name)
            try:
                book = open_package(archive, budget)
            except (DefusedXmlException, ElementTree.ParseError, ExpatError, UnsafeXml):
                raise
            except (PackageError, KeyError, IndexError, TypeError, ValueError, OSError) as exc:
                cause = _xml_cause(exc)
                if cause is not None:
                    raise cause from None
                raise reject("not_a_workbook", name=name, suffix=path.suffix.lower()) from None
            return _read_book(book, path, budget)


def _xml_cause(exc: BaseException | None) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (DefusedXmlException, ElementTree.ParseError, ExpatError, UnsafeXml)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _read_book(book: Package, path: Path, budget: TextBudget) -> Sheet:
    return read_book(path, book.sheets, lambda ws: SheetReader(book, ws, budget))
