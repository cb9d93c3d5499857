"""Read the staff's annotated P2E spreadsheet into a :class:`~p2e.model.Sheet`.

The file need not be our template: intake reads ``.xlsx``/``.xlsm`` (openpyxl, read-only
mode) and ``.csv`` (with or without a UTF-8 byte-order mark), picks the sheet that has an
Action column, finds the header row (it need not be row 1) and the columns by name,
forgiving case, spacing, underscores, punctuation and the usual synonyms, and keeps every
original cell of every non-blank row so the results workbook can hand it back.

IDs are cleaned to text (see :mod:`p2e.ids`); an ID Excel has damaged becomes a
:class:`~p2e.model.Problem` in ``sheet.problems``. A file that cannot be read at all
(not a workbook, password-protected, still being copied, hidden rows, ...) raises
:class:`FileRejected` with one plain message. Nothing else escapes ``read_workbook``.

    sheet = read_workbook(Path("inbox/p2e-annotated.xlsx"))
    for row in sheet.rows:
        print(row.number, row.action, row.mms_id)
"""
from __future__ import annotations

import csv
import gc
import io
import logging
import re
import sys
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

from defusedxml import DefusedXmlException

from .ids import clean_id, display, label
from .model import Action, BibHandling, ID_FIELDS, Mode, Problem, Row, Sheet, column_letter, shorten

log = logging.getLogger(__name__)

# How far down a sheet the header row may be (title rows, notes, blank rows above it).
HEADER_SEARCH_ROWS = 50
# How far down intake looks for a header that is too far down, to say where it is.
HEADER_REPORT_ROWS = 1000
# Excel's grid and cell limits: anything outside them was not made by Excel.
EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_COLUMN = 16_384  # XFD
EXCEL_MAX_CELL_CHARS = 32_767
# What intake will hold from one file (peak memory stays well under 500 MB for any file under
# MAX_FILE_MB): rows x columns of the action sheet as the results workbook hands it back, and the
# text of the whole workbook (shared strings and inline text, counted as the memory it takes).
MAX_CELLS = 3_000_000
# Each row costs ~400 bytes besides its cells (990,000 rows of 3 cells took 573 MB): rows are bounded too.
MAX_ROWS = 250_000
MAX_TEXT_BYTES = 150 * 1024 * 1024
# An XML text or tag that runs this many bytes without ending is more than any Excel cell holds
# (32,767 characters, at most ~10 bytes each when escaped): it is refused before it is held.
MAX_XML_RUN_BYTES = 1 << 20
# The workbook's other XML parts (styles, relationships, properties) are read whole by openpyxl.
MAX_OTHER_PART_BYTES = 20 * 1024 * 1024
# Elements in any one of those parts: a styles part at Excel's limit of 64,000 cell styles has about
# 130,000; 300,000 tiny style elements took openpyxl 14 s and 254 MB.
MAX_PART_ELEMENTS = 200_000
# Excel's numbers are doubles: their text is never longer than this ("-2.2250738585072014E-308").
MAX_NUMBER_CHARS = 40
# A workbook that unpacks to more than this many times its own size is refused (zip bomb).
MAX_UNPACK_RATIO = 25
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")

# Header synonyms, normalised (lower case, letters and digits only). The first name of each
# list is the template's own header.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "action": ("action", "actions", "staffaction", "p2eaction"),
    "voyager_bib_id": ("voyagerbibid", "bibid", "voyagerbib", "voyagerid", "voyagerbibnumber", "bibnumber", "ilsbibid"),
    "mms_id": ("mmsid", "mms", "almammsid", "p2emmsid", "bibmmsid", "sourcemmsid", "p2ebibmmsid"),
    "portfolio_id": ("portfolioid", "pid", "p2eportfolioid", "sourceportfolioid", "electronicportfolioid"),
    "target_mms_id": ("targetmmsid", "czmmsid", "keepmmsid", "cztargetmmsid", "targetmms", "czrecordmmsid", "targetbibmmsid"),
    "target_portfolio_id": ("targetportfolioid", "czportfolioid", "cztargetportfolioid", "keepportfolioid", "targetpid", "czpid"),
    "po_line": ("poline", "pol", "polinenumber", "polnumber", "polineid", "p2epol", "purchaseorderline"),
    "bib_handling": ("bibhandling", "handlingofbib", "bibrecordhandling", "bibhandlingdeletesuppresskeep"),
}
_FIELD_OF = {name: field_name for field_name, names in SYNONYMS.items() for name in names}
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise_header(text: object) -> str:
    """'Voyager_BIB ID ' -> 'voyagerbibid': lower case, letters and digits only.

    >>> normalise_header(" MMS_ID ")
    'mmsid'
    """
    return _NOT_ALNUM.sub("", str(text or "").lower())


def field_for_header(text: object) -> str | None:
    """The processor field a column header names, or None.

    >>> field_for_header("CZ MMS ID"), field_for_header("PID"), field_for_header("Action (delete/relink/keep)")
    ('target_mms_id', 'portfolio_id', 'action')
    """
    name = normalise_header(text)
    if name in _FIELD_OF:
        return _FIELD_OF[name]
    bare = normalise_header(_PARENTHESES.sub("", str(text or "")))
    return _FIELD_OF.get(bare)


class FileRejected(Exception):
    """The file cannot be read at all. ``problems`` says why (at least one); ``str()`` is a plain summary."""

    def __init__(self, problems: Problem | str | list[Problem], summary: str | None = None):
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem(p) for p in problems]
        if not self.problems:
            self.problems = [Problem(MESSAGES["unreadable"])]
        if summary is None:
            first = self.problems[0]
            summary = str(first)
            if len(self.problems) > 1:
                summary += f" (and {len(self.problems) - 1} more problem{'s' if len(self.problems) > 2 else ''})"
        super().__init__(summary)


# Every message a whole file can be refused with. docs/spreadsheet.md lists them for staff.
MESSAGES = {
    "missing": "The file {name} is no longer in the folder. If you moved or renamed it, put it back and wait for the next run.",
    "folder": "{name} is a folder, not a spreadsheet. Put the spreadsheet file itself in the folder.",
    "empty": "The file {name} is empty (0 bytes). It may still have been copying when it was read, or it was not saved properly: open it in Excel, save it again, and put it back in the folder.",
    "too_big": "The file {name} is {size:.1f} MB, over the limit of {limit:g} MB. Split the rows into several smaller files and put them in the folder one at a time.",
    "too_big_unpacked": "The file {name} unpacks to {size:.0f} MB of data, over the limit of {limit:g} MB. Split the rows into several smaller files and put them in the folder one at a time.",
    "html": "The file {name} is a web page (an HTML table) with an {suffix} name, not an Excel workbook. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "xml2003": "The file {name} is an Excel 2003 XML spreadsheet, which the processor cannot read. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "text_as_xls": "The file {name} is a text export with an .xls name, not an Excel workbook. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "other_kind": "The file {name} is {kind}, not a spreadsheet, although its name ends in {suffix}. Put the spreadsheet itself in the folder: in Excel, save it as 'Excel Workbook (.xlsx)'.",
    "xls": "The file {name} is an old Excel 97-2003 workbook (.xls), which the processor cannot read. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "xlsb": "The file {name} is an Excel Binary Workbook (.xlsb), which the processor cannot read. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "numbers": "The file {name} is an Apple Numbers file, which the processor cannot read. In Numbers choose File > Export To > Excel, and put the .xlsx file in the folder.",
    "ods": "The file {name} is an OpenDocument spreadsheet (.ods), which the processor cannot read. Save it as 'Excel 2007-365 (.xlsx)' and put the .xlsx file in the folder.",
    "unsupported": "The file {name} is not a spreadsheet the processor reads: it reads .xlsx, .xlsm and .csv files. Save your spreadsheet as 'Excel Workbook (.xlsx)' and put that file in the folder.",
    "encrypted": "The file {name} is protected with a password, so it cannot be read. Open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with Password, clear the password, OK), save it, and put it back in the folder.",
    "not_a_workbook": "The file {name} is not a readable Excel workbook, although its name ends in {suffix}: it may be damaged, or another kind of file renamed. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "truncated": "The file {name} is incomplete: it was probably still being copied into the folder when it was read. Wait until the copy has finished and put it in the folder again; if this keeps happening, open it in Excel, save it again, and put it back.",
    "no_action_sheet": "No sheet in {name} has a column headed Action (looked at: {sheets}). Add a column headed Action next to your P2E columns and write delete, relink or keep in it for each row, or copy your rows into the template.",
    "several_action_sheets": "More than one sheet in {name} has an Action column ({sheets}), so the processor cannot tell which one to use. Keep the Action column on one sheet only (delete the other copies or rename their Action heading) and put the file back.",
    "merged_header": "The header row (row {row}) has merged cells ({ranges}). Unmerge them (select the row, then Home > Merge & Center > Unmerge Cells) so that every column has its own heading, and put the file back.",
    "merged_data": "Some cells below the header are merged ({ranges}); only the first cell of a merged block holds a value, so the other rows would look empty. Unmerge them (select the sheet, then Home > Merge & Center > Unmerge Cells), fill in every row, and put the file back.",
    "hidden_rows": "{count} hidden row{s} ({rows}) ask{verb_s} for a change in Alma (delete or relink). Hidden rows would be processed without anyone seeing them: unhide all rows (select the whole sheet, right-click a row number, Unhide; clear any filter), check them, and put the file back. Hidden rows marked keep, or with an empty Action cell, are fine.",
    "hidden_column": "The Action column (column {column}) is hidden, and {count} row{s} in it ask{verb_s} for a change in Alma ({rows}). A hidden column would be processed without anyone seeing it: unhide it (select the columns either side of it, right-click a column letter, Unhide), check it, and put the file back.",
    "hidden_column_used": "The {heading} column (column {column}) is hidden, and {count} row{s} that change{verb_s} Alma depend{verb_s} on it ({rows}). A hidden column would be processed without anyone seeing it: unhide it (select the columns either side of it, right-click a column letter, Unhide), check it, and put the file back.",
    "hidden_sheet": "The sheet '{sheet}', which holds the Action column, is hidden, and {count} row{s} on it ask{verb_s} for a change in Alma ({rows}). A hidden sheet would be processed without anyone seeing it: unhide it (right-click any sheet tab, Unhide, pick '{sheet}'), check it, and put the file back.",
    "very_hidden_sheet": "The sheet '{sheet}', which holds the Action column, is very hidden (Excel's Unhide menu does not show it), and {count} row{s} on it ask{verb_s} for a change in Alma ({rows}). A hidden sheet would be processed without anyone seeing it: the file was probably made by a program or a macro, so ask whoever made it for a file with the sheet visible, or copy the rows you mean to change into the template.",
    "header_too_far": "The header row (the row with the Action heading) must be in the first {limit} rows of the sheet; in sheet '{sheet}' it is on row {row}. Delete some of the rows above it (title rows, notes, blank rows) so that the header is within the first {limit} rows, and put the file back.",
    "cell_too_long": "This cell holds {length:,} characters, more than Excel allows in a cell (32,767), so the file was not made by Excel or is damaged. Shorten the cell (or clear it), save the file in Excel as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "run_too_long": "The file {name} holds more text in one cell than Excel allows (32,767 characters), so it was not made by Excel or is damaged. Find that cell (it may be on another sheet), shorten or clear it, save the file as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "too_much_text": "The file {name} holds more text than the processor reads in one file (about {limit_mb:,} MB). Split the rows into several smaller files (and delete columns you do not need), and put them in the folder one at a time.",
    "too_many_rows": "The sheet '{sheet}' has more than {limit:,} rows to process, more than the processor takes in one file. Split the rows into several smaller files and put them in the folder one at a time.",
    "too_many_cells": "The sheet '{sheet}' is too big to process in one file: {rows:,} rows by {columns:,} columns (its rightmost cell is {ref}), over the limit of {limit:,} cells. Split the rows into several smaller files; if the sheet should not be that wide, clear the stray cells far to the right (the rightmost is {ref}: select the empty columns after your last one, right-click, Delete), and put the file back.",
    "outside_grid": "Row {row_number:,} has a cell at {ref}, outside Excel's grid (Excel's last column is XFD and its last row is 1,048,576), so the file was not made by Excel or is damaged. Open it in Excel (let Excel repair it if it offers to), save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "row_past_grid": "Row {row_number:,} is past Excel's last row (1,048,576), so the file was not made by Excel or is damaged. Open it in Excel (let Excel repair it if it offers to), save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "sheet_too_big": "A sheet in {name} is too big to process in one file (more than {limit:,} cells, or more rows than Excel has). Split the rows into several smaller files and put them in the folder one at a time; if the sheet should not be that big, select the empty rows below your data and the empty columns to its right, right-click, Delete, and save the file again.",
    "damaged_cell": "The file {name} is damaged: this cell {what}. Open it in Excel (let Excel repair it if it offers to), check the rows, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "formulas": "{count} cell{s} in the Action or ID columns {hold} a formula that has never been calculated ({cells}), so the processor cannot see its value. The file was probably saved by a program other than Excel: open it in Excel and save it again, or copy those columns and use Paste Special > Values.",
    "damaged": "The file {name} is damaged: part of it cannot be read. Open it in Excel (let Excel repair it if it offers to), check the rows, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "unsafe": "The file {name} contains XML features the processor refuses to read for safety (entity or document type declarations), which Excel never writes. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "unreadable": "The processor could not read the file {name}. Open it in Excel, save it again as 'Excel Workbook (.xlsx)', and put it back in the folder. If this keeps happening, send the file to the team that runs the processor.",
    "csv_encoding": "The file {name} is not a text file the processor can read (it is not in UTF-8 or Windows text encoding). Open it in Excel and save it as 'Excel Workbook (.xlsx)' or 'CSV UTF-8', and put that file in the folder.",
}


def _reject(key: str, *, problem_kw: dict[str, Any] | None = None, **values: Any) -> FileRejected:
    return FileRejected(Problem(MESSAGES[key].format(**values), **(problem_kw or {})))


def _list_some(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


# ---------------------------------------------------------------------------------------
# The entry point


def read_workbook(path: Path, *, max_file_mb: float = 50.0) -> Sheet:
    """Read the action sheet of a staff workbook (``.xlsx``, ``.xlsm`` or ``.csv``).

    Raises :class:`FileRejected` when the file cannot be read at all; cell-level
    problems (a rounded ID, a date in an ID column) go to ``sheet.problems``.
    """
    path = Path(path)
    # Intake builds hundreds of thousands of small objects and no cycles: the cyclic garbage
    # collector would rescan them all again and again (a 100,000-row file took half as long again).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _read(path, max_file_mb)
    except FileRejected:
        raise
    except Exception as exc:  # any surprise becomes one plain message; the detail goes to the log
        # One line (never a traceback: it would reach the console of `run` and `validate`), with the
        # exception's text quoted short because it may hold a cell's value; the traceback at debug level.
        log.warning("could not read %s: %s: %s", path.name, type(exc).__name__, shorten(str(exc), 200))
        log.debug("could not read %s", path, exc_info=True)
        raise _reject("unreadable", name=path.name) from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _read(path: Path, max_file_mb: float) -> Sheet:
    name = path.name
    suffix = path.suffix.lower()
    if suffix == ".numbers":
        raise _reject("numbers", name=name)
    if not path.exists():
        raise _reject("missing", name=name)
    if path.is_dir():
        raise _reject("folder", name=name)
    size = path.stat().st_size
    if size == 0:
        raise _reject("empty", name=name)
    if size > max_file_mb * 1024 * 1024:
        raise _reject("too_big", name=name, size=size / 1024 / 1024, limit=max_file_mb)
    with path.open("rb") as f:
        start = f.read(4096)
    head = start[:8]

    if head.startswith(ZIP_MAGIC):
        if suffix == ".xlsb":
            raise _reject("xlsb", name=name)
        if suffix == ".ods":
            raise _reject("ods", name=name)
        if suffix in WORKBOOK_SUFFIXES + (".xls", ".csv"):
            return _read_xlsx(path, max_file_mb)
        raise _reject("unsupported", name=name)
    if head == OLE2_MAGIC:
        kind = _ole2_kind(path)
        if kind == "word":
            raise _reject("other_kind", name=name, kind="a Word document (.doc)", suffix=suffix or "nothing")
        if suffix == ".xls":
            raise _reject("xls", name=name)
        if suffix in WORKBOOK_SUFFIXES + (".xlsb",):
            raise _reject("xls" if kind == "xls" else "encrypted", name=name)
        raise _reject("unsupported", name=name)
    text_kind = _text_kind(start)
    if suffix == ".xls":  # an HTML table, Excel 2003 XML or a text export saved as .xls
        if text_kind in ("html", "xml2003"):
            raise _reject(text_kind, name=name, suffix=suffix)
        raise _reject("text_as_xls", name=name)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in WORKBOOK_SUFFIXES:
        if text_kind == "html":
            raise _reject("html", name=name, suffix=suffix)
        if text_kind == "xml2003":
            raise _reject("xml2003", name=name)
        if text_kind == "pdf":
            raise _reject("other_kind", name=name, kind="a PDF document", suffix=suffix)
        raise _reject("not_a_workbook", name=name, suffix=suffix)
    if suffix in (".xlsb", ".ods"):
        raise _reject(suffix[1:], name=name)
    raise _reject("unsupported", name=name)


def _text_kind(start: bytes) -> str | None:
    """What a file that is not a ZIP or OLE2 file is, from its first bytes: html, xml2003, pdf or None."""
    if start.startswith(b"%PDF"):
        return "pdf"
    text = start.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<table", b"<head", b"<body", b"<meta")) or (
            text.startswith(b"<") and (b"<html" in text or b"<table" in text)) or text.startswith(b"mime-version"):
        return "html"
    if text.startswith(b"<?xml") and (b"urn:schemas-microsoft-com:office:spreadsheet" in text or b"<workbook" in text):
        return "xml2003"
    return None


_OLE2_STREAMS = {  # directory entry names (UTF-16LE) that say what an OLE2 compound file holds
    "encrypted": "EncryptedPackage".encode("utf-16-le"),
    "word": "WordDocument".encode("utf-16-le"),
    "xls": "Workbook".encode("utf-16-le"),
}


def _ole2_kind(path: Path) -> str | None:
    """encrypted (a password-protected .xlsx), word (.doc), xls, or None when it cannot be told."""
    found = set()
    tail = b""
    with path.open("rb") as f:
        while len(found) < len(_OLE2_STREAMS):
            block = f.read(1 << 20)
            if not block:
                break
            data = tail + block
            found.update(k for k, v in _OLE2_STREAMS.items() if v in data)
            tail = data[-40:]
    for kind in ("encrypted", "word", "xls"):
        if kind in found:
            return kind
    return None


# ---------------------------------------------------------------------------------------
# One sheet as plain rows, whichever format it came from


_NO_COLUMNS: frozenset[int] = frozenset()


@dataclass(slots=True)
class _RawRow:
    number: int                  # the row number Excel shows
    values: list[Any]            # 0-based by column
    hidden: bool = False
    formula_columns: set[int] | frozenset[int] = _NO_COLUMNS  # 0-based columns whose formula has no cached value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip(" \t\r\n\u00a0\u200b\ufeff"))


def _header_fields(values: list[Any]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for index, value in enumerate(values):
        if isinstance(value, str):
            name = field_for_header(value)
            if name:
                found.setdefault(name, []).append(index)
    return found


def _find_header(rows: Iterator[_RawRow], limit: int = HEADER_SEARCH_ROWS) -> _RawRow | None:
    """The first row within the first ``limit`` rows that has an Action heading."""
    for raw in rows:
        if raw.number > limit:
            return None
        if "action" in _header_fields(raw.values):
            return raw
    return None


# --- xlsx / xlsm ------------------------------------------------------------------------

def _read_xlsx(path: Path, max_file_mb: float) -> Sheet:
    from openpyxl.utils.exceptions import InvalidFileException

    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            unpacked = sum(m.file_size for m in members)
            names = {m.filename for m in members}
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError):
        raise _reject("truncated", name=name) from None
    limit = max_file_mb * MAX_UNPACK_RATIO
    if unpacked > limit * 1024 * 1024:
        raise _reject("too_big_unpacked", name=name, size=unpacked / 1024 / 1024, limit=limit)
    if "Index/Document.iwa" in names:
        raise _reject("numbers", name=name)
    suffix = path.suffix.lower() or "nothing"
    if "xl/workbook.bin" in names:
        raise _reject("xlsb", name=name)
    if "word/document.xml" in names:
        raise _reject("other_kind", name=name, kind="a Word document", suffix=suffix)
    if "ppt/presentation.xml" in names:
        raise _reject("other_kind", name=name, kind="a PowerPoint presentation", suffix=suffix)
    if "mimetype" in names:
        try:
            with zipfile.ZipFile(path) as archive, archive.open("mimetype") as member:
                mimetype = member.read(100)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, RuntimeError):
            mimetype = b""
        if b"opendocument.spreadsheet" in mimetype:
            raise _reject("ods", name=name)
        if b"opendocument" in mimetype:
            raise _reject("other_kind", name=name, kind="an OpenDocument document (LibreOffice)",
                          suffix=suffix)
    if "[Content_Types].xml" not in names:
        raise _reject("not_a_workbook", name=name, suffix=path.suffix.lower())
    # openpyxl reads the workbook's other parts whole: none that Excel writes comes near this.
    if any(m.file_size > MAX_OTHER_PART_BYTES for m in members
           if _parsed_by_openpyxl(m.filename) or m.filename.lower().startswith("xl/theme/")):
        raise _reject("damaged", name=name)

    limits = _Limits(name)
    try:
        with zipfile.ZipFile(path) as archive:
            for member in members:
                if _WORKSHEET_PART.search(member.filename):
                    _check_sheet_part(archive, member.filename, name)
                elif _parsed_by_openpyxl(member.filename):
                    _check_other_part(archive, member.filename, name)
        with path.open("rb") as stream:
            try:
                wb = _load_workbook(stream, limits)
            except (DefusedXmlException, ElementTree.ParseError):
                raise
            except (InvalidFileException, KeyError, IndexError, TypeError, ValueError, OSError) as exc:
                # openpyxl wraps XML errors in a ValueError: the cause says which it was
                cause = _xml_cause(exc)
                if cause is not None:
                    raise cause from None
                raise _reject("not_a_workbook", name=name, suffix=path.suffix.lower()) from None
            try:
                return _read_loaded_workbook(wb, path, limits)
            finally:
                wb.close()
    except _RunTooLong:
        raise _reject("run_too_long", name=name) from None
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise _reject("truncated", name=name) from None
    except ElementTree.ParseError:
        raise _reject("damaged", name=name) from None
    except DefusedXmlException:
        raise _reject("unsafe", name=name) from None


def _xml_cause(exc: BaseException) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (DefusedXmlException, ElementTree.ParseError)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


# --- fast, safe streaming XML ----------------------------------------------------------
#
# openpyxl parses with defusedxml, which swaps in the pure-Python expat wrapper: safe, but a
# 100,000-row sheet then takes most of a minute. The sheet data and the shared strings (the
# bulk of a workbook) are parsed here with the C parser instead, after checking the XML
# prolog: entity and DTD attacks need a <!DOCTYPE ...>, which XML allows only there. Anything
# unusual (a DOCTYPE, a non-UTF-8 part) goes to defusedxml, which refuses DTDs outright.

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW, _C, _V, _F, _IS, _T, _R = (_NS + t for t in ("row", "c", "v", "f", "is", "t", "r"))
_SHEET_DATA = _NS + "sheetData"
_MERGE_CELL = _NS + "mergeCell"
_COL = _NS + "col"
# Elements one row may hold (16,384 cells, each a few elements deep); more is not from Excel.
MAX_ROW_ELEMENTS = 200_000
QUOTE_START = 100
_CHUNK = 1 << 16


def _prolog_is_plain(buf: bytes) -> bool | None:
    """True: the root element starts before any DOCTYPE; False: a DOCTYPE or odd encoding; None: need more bytes."""
    i, n = 0, len(buf)
    if buf.startswith(b"\xef\xbb\xbf"):
        i = 3
    elif buf[:4].count(b"\x00") or buf.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16/32: let defusedxml handle it
    while True:
        while i < n and buf[i] in b" \t\r\n":
            i += 1
        if i >= n:
            return None
        if buf[i] != 0x3C:  # '<'
            return True  # not XML at all: the parser reports it
        if buf.startswith(b"<?", i):
            j = buf.find(b"?>", i)
        elif buf.startswith(b"<!--", i):
            j = buf.find(b"-->", i)
            j = j + 1 if j >= 0 else j
        elif buf.startswith(b"<!", i) or n - i < 9:
            return False if buf.startswith(b"<!", i) else None
        else:
            return True
        if j < 0:
            return None
        i = j + 2


class _RunTooLong(Exception):
    """An XML text, tag or attribute ran on for MAX_XML_RUN_BYTES without ending."""


def _iterparse(src, events=("end",)):
    """(event, element) pairs like iterparse, using the C parser when the prolog is plain.

    Raises :class:`_RunTooLong` as soon as MAX_XML_RUN_BYTES are read without a single event:
    one text that long is more than any Excel cell holds, and it is refused before it is held.
    """
    from xml.etree.ElementTree import XMLPullParser

    head = b""
    verdict = None
    while verdict is None:
        chunk = src.read(_CHUNK)
        head += chunk
        verdict = _prolog_is_plain(head)
        if not chunk or len(head) > (1 << 20):
            verdict = bool(verdict)
    if not verdict:
        from defusedxml.ElementTree import iterparse as defused_iterparse

        replay = _Prefixed(head, src, MAX_XML_RUN_BYTES)
        for item in defused_iterparse(io.BufferedReader(replay), events=events):
            replay.since_event = 0
            yield item
        return
    parser = XMLPullParser(events=events)
    # read_events() pops this deque one Python step at a time; reading it whole is much faster.
    events_queue = getattr(parser, "_events_queue", None)
    data = head
    quiet = 0  # bytes fed since the last event
    while data:
        parser.feed(data)
        if events_queue is None:
            produced = False
            for item in parser.read_events():
                produced = True
                yield item
        elif events_queue:
            produced = True
            if isinstance(events_queue[-1], Exception):  # feed() queues a syntax error instead of raising it
                raise events_queue.pop()
            yield from events_queue
            events_queue.clear()
        else:
            produced = False
        quiet = 0 if produced else quiet + len(data)
        if quiet > MAX_XML_RUN_BYTES:
            raise _RunTooLong()
        data = src.read(_CHUNK)
    parser.close()
    yield from parser.read_events()


class _Prefixed(io.RawIOBase):
    """A stream that replays ``head`` and then the rest of ``src``; it refuses to read more than
    ``limit`` bytes while the reader's ``since_event`` is not reset."""

    def __init__(self, head: bytes, src, limit: int | None = None):
        self.head, self.src, self.limit = head, src, limit
        self.since_event = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.limit is not None and self.since_event > self.limit:
            raise _RunTooLong()
        if self.head:
            n = min(len(b), len(self.head))
            b[:n], self.head = self.head[:n], self.head[n:]
            self.since_event += n
            return n
        data = self.src.read(len(b))
        b[: len(data)] = data
        self.since_event += len(data)
        return len(data)


class _Limits:
    """What intake holds from one workbook, counted as it is read (see MAX_TEXT_BYTES)."""

    def __init__(self, name: str):
        self.name = name
        self.text_bytes = 0

    def add_text(self, text: str) -> None:
        self.text_bytes += sys.getsizeof(text) + 8
        if self.text_bytes > MAX_TEXT_BYTES:
            raise _reject("too_much_text", name=self.name, limit_mb=MAX_TEXT_BYTES // (1024 * 1024))


class _TooLong(str):
    """A shared string longer than Excel allows: its start, and ``length``; refused where a cell uses it."""

    length = 0


def _read_shared_strings(src, limits: _Limits) -> list[str]:
    strings = []
    append = strings.append
    add_text = limits.add_text
    root = None
    for event, element in _iterparse(src, events=("start", "end")):
        if event == "start":
            if root is None:
                root = element
            continue
        if element.tag == _NS + "si":
            t = element.find(_T)
            if t is not None:
                text = t.text or ""
            else:  # rich text: the runs' texts (phonetic guides left out)
                text = "".join(r.findtext(_T) or "" for r in element.iterfind(_R))
            text = text.replace("x005F_", "")
            if len(text) > EXCEL_MAX_CELL_CHARS:
                long_text = _TooLong(text[:QUOTE_START])
                long_text.length = len(text)
                text = long_text
            add_text(text)
            append(text)
            root.clear()  # drop the finished <si> elements: a million of them would hold ~70 MB
        elif element is not root and len(root) > 1000:
            root.clear()  # anything else in the part (never written by Excel) is not kept either
    return strings


def _load_workbook(stream, limits: _Limits):
    """openpyxl.load_workbook(read_only=True, data_only=True) with the shared strings read fast."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class Reader(ExcelReader):
        def read_strings(self):
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    self.shared_strings = _read_shared_strings(src, limits)

    reader = Reader(stream, read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


_COLUMN_CACHE: dict[str, int] = {}


def _column_index(ref: str) -> int:
    """'AB12' -> 27 (0-based); -1 for a reference that names no column Excel has."""
    letters = ref.rstrip("0123456789")
    index = _COLUMN_CACHE.get(letters)
    if index is None:
        if not (0 < len(letters) <= 3 and letters.isascii() and letters.isalpha()):
            return -1
        index = 0
        for ch in letters.upper():
            index = index * 26 + (ord(ch) - 64)
        index -= 1
        _COLUMN_CACHE[letters] = index
    return index


def _row_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = int(float(text))  # "2.0" from some generators; junk raises ValueError/OverflowError
    return number


_WORKSHEET_PART = re.compile(r"(^|/)worksheets/[^/]+\.xml$", re.IGNORECASE)
_DIMENSION = _NS + "dimension"


def _check_sheet_part(archive: zipfile.ZipFile, member: str, name: str) -> None:
    """Refuse a sheet that openpyxl's read-only mode would read whole, unbounded, before intake sees it.

    openpyxl looks for the sheet's ``<dimension>`` when it opens the workbook; when that element
    is not before ``<sheetData>`` (it is optional, and some programs leave it out), openpyxl reads
    the whole sheet in pure Python to find it, keeping an empty element per row. This pass, with
    the fast parser, goes as far as openpyxl would and refuses a sheet with more rows than Excel
    has or far more elements than MAX_CELLS allows, or an XML run longer than any cell.
    """
    max_elements = 4 * MAX_CELLS
    with archive.open(member) as src:
        depth = elements = rows = 0
        root = section = None
        for event, element in _iterparse(src, events=("start", "end")):
            if event == "start":
                if depth == 0:
                    root = element
                elif depth == 1:
                    section = element
                    if element.tag == _DIMENSION:
                        return  # openpyxl stops here
                elements += 1
                if elements > max_elements:
                    raise _reject("sheet_too_big", name=name, limit=MAX_CELLS)
                depth += 1
                continue
            depth -= 1
            if depth == 2:
                rows += 1
                if rows > EXCEL_MAX_ROW:
                    raise _reject("sheet_too_big", name=name, limit=MAX_CELLS)
                section.clear()
            elif depth == 1:
                if element.tag == _SHEET_DATA:
                    return  # where openpyxl stops when there is no dimension
                root.clear()


def _parsed_by_openpyxl(member: str) -> bool:
    """The parts openpyxl's read-only mode parses whole when it opens a workbook: the content types,
    the package and workbook relationships, the workbook, its styles and the document properties.
    (Sheets and shared strings are read here, as streams; comments and drawings are not read.)"""
    lower = member.lower()
    if lower == "[content_types].xml" or lower.startswith("docprops/"):
        return True
    if lower.endswith(".rels"):
        return lower.count("/") <= 2  # _rels/.rels, xl/_rels/workbook.xml.rels
    return lower.startswith("xl/") and lower.count("/") == 1 and lower.endswith(".xml") and (
        "workbook" in lower or "styles" in lower)  # xl/comments1.xml, xl/calcChain.xml, ... are not read


def _check_other_part(archive: zipfile.ZipFile, member: str, name: str) -> None:
    """Refuse an XML part openpyxl would read whole (styles, workbook, properties, relationships) that
    holds far more elements than Excel ever writes (64,000 cell styles at most): openpyxl builds an
    object for each (300,000 tiny style elements, 5 MB unpacked, took it 14 s and 254 MB)."""
    with archive.open(member) as src:
        depth = elements = 0
        root = section = None
        for event, element in _iterparse(src, events=("start", "end")):
            if event == "start":
                if depth == 0:
                    root = element
                elif depth == 1:
                    section = element
                elements += 1
                if elements > MAX_PART_ELEMENTS:
                    raise _reject("damaged", name=name)
                depth += 1
                continue
            depth -= 1
            if depth == 2:
                section.clear()
            elif depth == 1:
                root.clear()


_SHEET_FORMAT = _NS + "sheetFormatPr"


def _is_hidden(element, size: str, by_default: bool) -> bool:
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


class _Parser:
    """Stream one read-only worksheet's rows: cached values (as openpyxl's data_only mode gives
    them), which rows are hidden, which cells hold a formula with no cached value, and the
    merged ranges (they come after the rows in the file). Which columns are hidden is known
    once the rows have started (``<cols>`` comes before them).

    Everything outside Excel's grid and limits is refused as it is met (FileRejected), and
    finished elements are dropped as they go, so memory stays flat whatever the sheet holds."""

    def __init__(self, ws, limits: _Limits):
        wb = ws.parent
        self.ws = ws
        self.limits = limits
        self.strings = ws._shared_strings
        self.date_formats = wb._date_formats
        self.timedelta_formats = wb._timedelta_formats
        self.epoch = wb.epoch
        self.source = ws._get_source()
        self.merged: list[str] = []
        self.hidden_columns: list[tuple[int, int]] = []  # 0-based, inclusive
        self.rows_hidden_by_default = False  # <sheetFormatPr zeroHeight="1">: rows not given a height are hidden

    def _refuse(self, key: str, row: int | None = None, col: int | None = None, **values: Any) -> FileRejected:
        where = {"sheet": self.ws.title, "row": row}
        if col is not None:
            where["column"] = column_letter(col)
        return _reject(key, name=self.limits.name, problem_kw=where, **values)

    def column_hidden(self, col: int) -> bool:
        return any(low <= col <= high for low, high in self.hidden_columns)

    def rows(self) -> Iterator[_RawRow]:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        strings, date_formats, timedelta_formats, epoch = self.strings, self.date_formats, self.timedelta_formats, self.epoch
        add_text = self.limits.add_text
        counter = 0
        root = section = None
        depth = 0          # open elements above the current one
        in_row = 0         # elements opened inside the current row
        try:
            for event, element in _iterparse(self.source, events=("start", "end")):
                if event == "start":
                    if depth == 0:
                        root = element
                    elif depth == 1:
                        section = element  # sheetData, cols, mergeCells, ...
                    elif depth >= 3:
                        in_row += 1
                        if in_row > MAX_ROW_ELEMENTS:
                            raise self._refuse("damaged", row=counter + 1)
                    depth += 1
                    continue
                depth -= 1
                if depth == 1:
                    if element.tag == _SHEET_FORMAT and element.get("zeroHeight") in ("1", "true"):
                        self.rows_hidden_by_default = True
                    root.clear()  # a finished section
                    continue
                if depth != 2:
                    continue
                in_row = 0
                tag = element.tag
                if tag == _ROW:
                    r = element.get("r")
                    try:
                        counter = _row_number(r) if r else counter + 1
                    except (ValueError, OverflowError):
                        raise self._refuse("damaged", row=counter + 1) from None
                    if not 0 < counter <= EXCEL_MAX_ROW:
                        raise self._refuse("row_past_grid", row=counter if counter > 0 else None, row_number=counter)
                    hidden = _is_hidden(element, "ht", self.rows_hidden_by_default)
                    values: list[Any] = []
                    formulas: set[int] | None = None  # most rows have none: no empty set per row
                    col = -1
                    for c in element:
                        if c.tag != _C:
                            continue
                        ref = c.get("r")
                        col = _column_index(ref) if ref else col + 1
                        if not 0 <= col < EXCEL_MAX_COLUMN:
                            raise self._refuse("outside_grid", row=counter, row_number=counter,
                                               ref=shorten(ref or f"column {col + 1:,}", 24))
                        kind = c.get("t", "n")
                        try:
                            if kind == "inlineStr":
                                node = c.find(_IS)
                                if node is None:
                                    value = None
                                else:
                                    t = node.find(_T)
                                    value = (t.text or "") if t is not None else "".join(
                                        x.findtext(_T) or "" for x in node.iterfind(_R))
                                    if len(value) > EXCEL_MAX_CELL_CHARS:
                                        raise self._refuse("cell_too_long", counter, col, length=len(value))
                                    add_text(value)
                            else:
                                value = c.findtext(_V)
                                if value is None or value == "":
                                    value = None
                                    if c.find(_F) is not None:
                                        if formulas is None:
                                            formulas = set()
                                        formulas.add(col)
                                elif kind == "s":
                                    index = int(value)
                                    if index < 0 or index >= len(strings):
                                        raise self._refuse("damaged_cell", counter, col,
                                                           what="points to text that is not in the file")
                                    value = strings[index]
                                    if value.__class__ is _TooLong:
                                        raise self._refuse("cell_too_long", counter, col, length=value.length)
                                elif kind == "n":
                                    if len(value) > MAX_NUMBER_CHARS:  # a huge integer would be held whole
                                        raise ValueError(value[:40])
                                    value = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
                                    style = c.get("s")
                                    if style and int(style) in date_formats:
                                        try:
                                            value = from_excel(value, epoch, timedelta=int(style) in timedelta_formats)
                                        except (OverflowError, ValueError):
                                            value = "#VALUE!"
                                elif kind == "b":
                                    value = bool(int(value))
                                elif kind == "d":
                                    value = from_ISO8601(value)
                                else:  # "str" (formula text result) and "e" (error) stay text
                                    if len(value) > EXCEL_MAX_CELL_CHARS:
                                        raise self._refuse("cell_too_long", counter, col, length=len(value))
                                    add_text(value)
                        except (ValueError, OverflowError, TypeError):
                            raise self._refuse("damaged_cell", counter, col, what="holds a value that cannot be read") from None
                        if value is not None:
                            if col >= len(values):
                                values.extend([None] * (col + 1 - len(values)))
                            values[col] = value
                    section.clear()  # drop finished rows from the tree, so memory stays flat
                    if values or hidden:
                        yield _RawRow(counter, values, hidden, formulas or _NO_COLUMNS)
                elif tag == _MERGE_CELL:
                    ref = element.get("ref")
                    if ref:
                        add_text(ref)
                        self.merged.append(ref)
                    section.clear()
                elif tag == _COL:
                    if _is_hidden(element, "width", False):
                        try:
                            low, high = int(element.get("min", "")) - 1, int(element.get("max", "")) - 1
                        except ValueError:
                            raise self._refuse("damaged") from None
                        if len(self.hidden_columns) >= EXCEL_MAX_COLUMN:
                            raise self._refuse("damaged")
                        self.hidden_columns.append((low, high))
                    section.clear()
                else:
                    section.clear()  # anything else (hyperlinks, validations, ...) is not needed
        finally:
            self.close()

    @property
    def merged_ranges(self) -> list[tuple[str, int, int, int, int]]:
        from openpyxl.utils.cell import range_boundaries

        out = []
        for ref in self.merged:
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
            except (ValueError, TypeError):
                raise self._refuse("damaged") from None
            out.append((shorten(ref, 24), min_col - 1, min_row, max_col - 1, max_row))
        return out

    def close(self) -> None:
        try:
            self.source.close()
        except Exception:  # pragma: no cover - closing a zip member never matters
            pass


def _read_loaded_workbook(wb, path: Path, limits: _Limits) -> Sheet:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    worksheets = [ws for ws in wb.worksheets if isinstance(ws, ReadOnlyWorksheet)]

    def header_of(ws, limit: int = HEADER_SEARCH_ROWS) -> _RawRow | None:
        rows = _Parser(ws, limits).rows()
        try:
            return _find_header(rows, limit)
        finally:
            rows.close()

    candidates = [ws for ws in worksheets if header_of(ws) is not None]
    if not candidates:
        for ws in worksheets:  # a header too far down: say where it is
            header = header_of(ws, HEADER_REPORT_ROWS)
            if header is not None:
                raise _header_too_far(ws.title, header.number)
        raise _reject("no_action_sheet", name=path.name,
                      sheets=_list_some([f"'{shorten(ws.title)}'" for ws in wb.worksheets]) or "none")
    if len(candidates) > 1:
        raise _reject("several_action_sheets", name=path.name,
                      sheets=_list_some([f"'{shorten(ws.title)}'" for ws in candidates]))
    ws = candidates[0]
    parser = _Parser(ws, limits)
    sheet = _build_sheet(path, ws.title, parser.rows(), merged=lambda: parser.merged_ranges,
                         sheet_state=getattr(ws, "sheet_state", "visible"), column_hidden=parser.column_hidden)
    settings_ws = next((w for w in worksheets if w.title.strip().lower() == "settings" and w is not ws), None)
    if settings_ws is not None:
        _read_settings_sheet(settings_ws, sheet, limits)
    return sheet


def _header_too_far(sheet_name: str, row: int) -> FileRejected:
    return _reject("header_too_far", limit=HEADER_SEARCH_ROWS, sheet=shorten(sheet_name), row=row,
                   problem_kw={"sheet": sheet_name, "row": row})


# --- csv --------------------------------------------------------------------------------

def _read_csv(path: Path) -> Sheet:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise _reject("csv_encoding", name=path.name)
    if "\x00" in text:
        raise _reject("csv_encoding", name=path.name)
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)

    def rows() -> Iterator[_RawRow]:
        number = 0
        try:
            for number, values in enumerate(reader, start=1):
                if number > EXCEL_MAX_ROW:
                    raise _reject("row_past_grid", row_number=number, problem_kw={"sheet": sheet_name})
                if len(values) > EXCEL_MAX_COLUMN:
                    raise _reject("outside_grid", row_number=number, ref=f"column {len(values):,}",
                                  problem_kw={"sheet": sheet_name, "row": number})
                for col, value in enumerate(values):
                    if len(value) > EXCEL_MAX_CELL_CHARS:
                        raise _reject("cell_too_long", length=len(value),
                                      problem_kw={"sheet": sheet_name, "row": number, "column": column_letter(col)})
                yield _RawRow(number, [v if v != "" else None for v in values])
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _reject("run_too_long", name=path.name) from None
            raise _reject("damaged", name=path.name, problem_kw={"row": number + 1}) from None

    sheet_name = path.stem
    header = _find_header(rows())
    if header is None:
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        further = _find_header(rows(), HEADER_REPORT_ROWS)
        if further is not None:
            raise _header_too_far(sheet_name, further.number)
        raise _reject("no_action_sheet", name=path.name, sheets=f"'{shorten(sheet_name)}'")
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    return _build_sheet(path, sheet_name, rows(), merged=lambda: [])


# ---------------------------------------------------------------------------------------
# Rows -> Sheet


def _build_sheet(path: Path, sheet_name: str, rows: Iterator[_RawRow], merged, sheet_state: str = "visible",
                 column_hidden=lambda index: False) -> Sheet:
    header: _RawRow | None = None
    data: list[_RawRow] = []
    hidden: set[int] = set()
    width, widest = 0, None
    for raw in rows:
        if header is None:
            if raw.number <= HEADER_SEARCH_ROWS and "action" in _header_fields(raw.values):
                header = raw
                width, widest = len(raw.values), raw
            continue
        if all(_blank(v) for v in raw.values):
            continue
        if raw.hidden:
            hidden.add(raw.number)
        data.append(raw)
        if len(raw.values) > width:
            width, widest = len(raw.values), raw
        if len(data) > MAX_ROWS:
            raise _reject("too_many_rows", sheet=shorten(sheet_name), limit=MAX_ROWS,
                          problem_kw={"sheet": sheet_name, "row": raw.number})
        # the results workbook hands back every row padded to the widest: bound rows x columns now
        if (len(data) + 1) * width > MAX_CELLS:
            raise _reject("too_many_cells", sheet=shorten(sheet_name), rows=len(data), columns=width,
                          ref=f"{column_letter(width - 1)}{widest.number}", limit=MAX_CELLS,
                          problem_kw={"sheet": sheet_name, "row": widest.number, "column": column_letter(width - 1)})
    assert header is not None  # the sheet was chosen because it has one

    # Merged cells come after the rows in the file, so they are checked once all is read.
    header_merges, data_merges = [], []
    for ref, min_col, min_row, max_col, max_row in merged():
        if min_row <= header.number <= max_row:
            header_merges.append(ref)
        elif max_row > header.number:
            data_merges.append(ref)
    if header_merges:
        raise _reject("merged_header", row=header.number, ranges=_list_some(header_merges),
                      problem_kw={"sheet": sheet_name, "row": header.number})
    if data_merges:
        raise _reject("merged_data", ranges=_list_some(data_merges),
                      problem_kw={"sheet": sheet_name, "row": _first_row(data_merges)})

    width = max([len(header.values)] + [len(r.values) for r in data])
    headers = [("" if v is None else display(v)) for v in header.values] + [""] * (width - len(header.values))
    found = _header_fields(header.values)
    columns = {name: indexes[0] for name, indexes in found.items()}
    sheet = Sheet(source=path, sheet_name=sheet_name, header_row=header.number, headers=headers, columns=columns)
    for name, indexes in found.items():
        if len(indexes) > 1:
            letters = " and ".join(f"{column_letter(i)} ({shorten(headers[i])})" for i in indexes[:4])
            sheet.problems.append(Problem(
                f"Two columns could be the {label(name)} column: {letters}. Rename or delete one of them so the processor knows which to use.",
                sheet=sheet_name, row=header.number, column=column_letter(indexes[1]), column_name=headers[indexes[1]],
            ))

    # Formulas with no cached value in the columns that drive the work.
    watched = set(columns.values())
    uncalculated = [(r.number, c) for r in data for c in sorted(r.formula_columns & watched)]
    if uncalculated:
        cells = [f"{column_letter(c)}{n}" for n, c in uncalculated]
        n = len(cells)
        first_row, first_col = uncalculated[0]
        raise _reject("formulas", count=n, s="" if n == 1 else "s", hold="holds" if n == 1 else "hold",
                      cells=_list_some(cells),
                      problem_kw={"sheet": sheet_name, "row": first_row, "column": column_letter(first_col),
                                  "column_name": headers[first_col]})

    for raw in data:
        sheet.rows.append(_make_row(raw, width, sheet, columns, headers))
    _refuse_hidden_actions(sheet, sheet_state, column_hidden, hidden)
    return sheet


def _refuse_hidden_actions(sheet: Sheet, sheet_state: str, column_hidden, hidden_rows: set[int]) -> None:
    """Anything hidden that asks for a change in Alma is refused, with the place named: a hidden or
    very hidden sheet, a hidden Action column, a hidden row. Hidden rows marked keep (or with an
    empty Action cell) are fine: staff filter the P2E report, and a filter hides rows."""
    writing = [row for row in sheet.rows if row.action is not Action.KEEP]  # delete, relink, or a word not understood
    if not writing:
        return

    def counted(rows: list[Row]) -> dict[str, Any]:
        n = len(rows)
        return {"count": n, "s": "" if n == 1 else "s", "verb_s": "s" if n == 1 else "",
                "rows": ("row " if n == 1 else "rows ") + _list_some([str(r.number) for r in rows])}

    where = {"sheet": sheet.sheet_name, "row": writing[0].number}
    if sheet_state in ("hidden", "veryHidden"):
        key = "very_hidden_sheet" if sheet_state == "veryHidden" else "hidden_sheet"
        raise _reject(key, sheet=shorten(sheet.sheet_name), problem_kw=where, **counted(writing))
    action_index = sheet.columns["action"]
    if column_hidden(action_index):
        letter = column_letter(action_index)
        raise _reject("hidden_column", column=letter, **counted(writing),
                      problem_kw={**where, "column": letter, "column_name": sheet.headers[action_index]})
    # The other columns that steer a write: the bib handling (delete/suppress) and the relink target.
    steering = {
        "bib_handling": [r for r in writing if r.bib_handling_text and r.bib_handling is not BibHandling.RETAIN],
        "target_mms_id": [r for r in writing if r.action is Action.RELINK and r.target_mms_id],
        "target_portfolio_id": [r for r in writing if r.action is Action.RELINK and r.target_portfolio_id],
    }
    for field_name, rows in steering.items():
        index = sheet.columns.get(field_name)
        if index is not None and rows and column_hidden(index):
            letter = column_letter(index)
            raise _reject("hidden_column_used", heading=shorten(sheet.headers[index]) or label(field_name),
                          column=letter, **counted(rows),
                          problem_kw={"sheet": sheet.sheet_name, "row": rows[0].number, "column": letter,
                                      "column_name": sheet.headers[index]})
    in_hidden_rows = [row for row in writing if row.number in hidden_rows]
    if in_hidden_rows:
        raise _reject("hidden_rows", **counted(in_hidden_rows),
                      problem_kw={"sheet": sheet.sheet_name, "row": in_hidden_rows[0].number})


def _first_row(refs: list[str]) -> int | None:
    from openpyxl.utils.cell import range_boundaries

    try:
        return min(range_boundaries(r)[1] for r in refs)
    except Exception:  # pragma: no cover
        return None


def _text(value: Any) -> str:
    return "" if value is None else display(value)


def _make_row(raw: _RawRow, width: int, sheet: Sheet, columns: dict[str, int], headers: list[str]) -> Row:
    values = raw.values
    if len(values) < width:
        values = values + [None] * (width - len(values))
    row = Row(number=raw.number, values=values)

    index = columns.get("action")
    if index is not None:
        row.action_text = _text(values[index])
        if row.action_text:
            row.action = parse_action(row.action_text)
        else:
            row.action = Action.KEEP  # an unmarked row is left alone
    index = columns.get("bib_handling")
    if index is not None:
        row.bib_handling_text = _text(values[index])
        row.bib_handling = BibHandling.parse(_letters_and_spaces(row.bib_handling_text)) if row.bib_handling_text else None
    index = columns.get("po_line")
    if index is not None and not _blank(values[index]):
        row.po_line = _text(values[index]).replace("\u00a0", " ").strip() or None

    acts = row.action is not Action.KEEP
    for name in ID_FIELDS:
        index = columns.get(name)
        if index is None:
            continue
        value = values[index]
        text, message = clean_id(value, name)
        setattr(row, name, text)
        values[index] = text if text is not None else (None if _blank(value) else display(value))
        if message and acts:
            sheet.problems.append(Problem(message, sheet=sheet.sheet_name, row=raw.number,
                                          column=column_letter(index), column_name=headers[index]))
    return row


def _letters_and_spaces(text: str) -> str:
    return " ".join(re.sub(r"[^a-z]+", " ", text.lower()).split())


def parse_action(text: object) -> Action | None:
    """The action a cell names: the exact word in any case and spacing (see :meth:`Action.parse`).

    >>> parse_action(" DELETE "), parse_action("Re-link"), parse_action("delete?"), parse_action("remove")
    (<Action.DELETE: 'delete'>, <Action.RELINK: 'relink'>, None, None)
    """
    return Action.parse(text)


# ---------------------------------------------------------------------------------------
# The template's Settings sheet: Mode and "Email results to"

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def _read_settings_sheet(ws, sheet: Sheet, limits: _Limits) -> None:
    parser = _Parser(ws, limits)
    hidden_sheet = getattr(ws, "sheet_state", "visible") in ("hidden", "veryHidden")
    for raw in parser.rows():
        if raw.number > 50:
            break
        cells = raw.values
        for i, value in enumerate(cells):
            key = normalise_header(value) if isinstance(value, str) else ""
            if key not in ("mode", "emailresultsto", "emailto", "email"):
                continue
            j = i + 1  # the value sits in the cell to the right of its label
            answer = cells[j] if j < len(cells) else None
            where = {"sheet": ws.title, "row": raw.number, "column": column_letter(j), "column_name": display(value)}
            if key == "mode":
                if _blank(answer):
                    continue
                mode = Mode.parse(answer)
                if mode is None:
                    sheet.problems.append(Problem(f"Mode '{shorten(display(answer))}' is not Preview or Apply: choose Preview (nothing changes in Alma) or Apply from the list.", **where))
                elif mode is Mode.APPLY and (hidden_sheet or raw.hidden or parser.column_hidden(j)):
                    place = f"the sheet '{shorten(ws.title)}' is hidden" if hidden_sheet else "its cell is hidden"
                    sheet.problems.append(Problem(
                        f"Mode says Apply, but {place}: a file would change Alma without anyone seeing that it "
                        "will. Unhide it (right-click a sheet tab, Unhide; or unhide the row or column), check "
                        "the Mode, and put the file back.", **where))
                else:
                    sheet.mode = mode
            else:
                for address in re.split(r"[,;\s]+", _text(answer)):
                    address = address.strip().strip("<>")
                    if not address:
                        continue
                    if _EMAIL.match(address):
                        if address not in sheet.email_to:
                            sheet.email_to.append(address)
                    else:
                        sheet.problems.append(Problem(f"'{shorten(address)}' is not an email address: write addresses like name@library.edu, separated by commas.", **where))
            break
    parser.close()


__all__ = ["FileRejected", "MESSAGES", "SYNONYMS", "field_for_header", "normalise_header", "parse_action", "read_workbook"]
