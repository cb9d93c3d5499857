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
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from xml.etree import ElementTree

from defusedxml import DefusedXmlException

from .ids import clean_id, display, label
from .model import Action, BibHandling, ID_FIELDS, Mode, Problem, Row, Sheet, column_letter

log = logging.getLogger(__name__)

# How far down a sheet the header row may be (title rows, notes, blank rows above it).
HEADER_SEARCH_ROWS = 50
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
    "hidden_rows": "{count} row{s} of the sheet {rows_are} hidden ({rows}). Hidden rows would be processed without anyone seeing them: unhide all rows (select the whole sheet, right-click a row number, Unhide; clear any filter), check them, and put the file back.",
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
    except Exception:  # any surprise becomes one plain message; the detail goes to the log
        log.exception("could not read %s", path)
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
        head = f.read(8)

    if head.startswith(ZIP_MAGIC):
        if suffix == ".xlsb":
            raise _reject("xlsb", name=name)
        if suffix == ".ods":
            raise _reject("ods", name=name)
        if suffix in WORKBOOK_SUFFIXES + (".xls", ".csv"):
            return _read_xlsx(path, max_file_mb)
        raise _reject("unsupported", name=name)
    if head == OLE2_MAGIC:
        if suffix == ".xls":
            raise _reject("xls", name=name)
        if suffix in WORKBOOK_SUFFIXES + (".xlsb",):
            raise _reject("encrypted", name=name)
        raise _reject("unsupported", name=name)
    if suffix == ".xls":  # Excel 2003 XML or an HTML table saved as .xls
        raise _reject("xls", name=name)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in WORKBOOK_SUFFIXES:
        raise _reject("not_a_workbook", name=name, suffix=suffix)
    if suffix in (".xlsb", ".ods"):
        raise _reject(suffix[1:], name=name)
    raise _reject("unsupported", name=name)


# ---------------------------------------------------------------------------------------
# One sheet as plain rows, whichever format it came from


@dataclass
class _RawRow:
    number: int                  # the row number Excel shows
    values: list[Any]            # 0-based by column
    hidden: bool = False
    formula_columns: set[int] = field(default_factory=set)  # 0-based columns whose formula has no cached value


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


def _find_header(rows: Iterator[_RawRow]) -> _RawRow | None:
    """The first row within the first HEADER_SEARCH_ROWS rows that has an Action heading."""
    for raw in rows:
        if raw.number > HEADER_SEARCH_ROWS:
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
    if "[Content_Types].xml" not in names:
        raise _reject("not_a_workbook", name=name, suffix=path.suffix.lower())

    try:
        with path.open("rb") as stream:
            try:
                wb = _load_workbook(stream)
            except (DefusedXmlException, ElementTree.ParseError):
                raise
            except (InvalidFileException, KeyError, IndexError, TypeError, ValueError) as exc:
                # openpyxl wraps XML errors in a ValueError: the cause says which it was
                cause = _xml_cause(exc)
                if cause is not None:
                    raise cause from None
                raise _reject("not_a_workbook", name=name, suffix=path.suffix.lower()) from None
            try:
                return _read_loaded_workbook(wb, path)
            finally:
                wb.close()
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


def _iterparse(src, events=("end",)):
    """(event, element) pairs like iterparse, using the C parser when the prolog is plain."""
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

        yield from defused_iterparse(io.BufferedReader(_Prefixed(head, src)), events=events)
        return
    parser = XMLPullParser(events=events)
    # read_events() pops this deque one Python step at a time; reading it whole is much faster.
    events_queue = getattr(parser, "_events_queue", None)
    data = head
    while data:
        parser.feed(data)
        if events_queue is None:
            yield from parser.read_events()
        elif events_queue:
            if isinstance(events_queue[-1], Exception):  # feed() queues a syntax error instead of raising it
                raise events_queue.pop()
            yield from events_queue
            events_queue.clear()
        data = src.read(_CHUNK)
    parser.close()
    yield from parser.read_events()


class _Prefixed(io.RawIOBase):
    """A stream that replays ``head`` and then the rest of ``src``."""

    def __init__(self, head: bytes, src):
        self.head, self.src = head, src

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.head:
            n = min(len(b), len(self.head))
            b[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.src.read(len(b))
        b[: len(data)] = data
        return len(data)


def _read_shared_strings(src) -> list[str]:
    strings = []
    append = strings.append
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
            append(text.replace("x005F_", ""))
            root.clear()  # drop the finished <si> elements: a million of them would hold ~70 MB
    return strings


def _load_workbook(stream):
    """openpyxl.load_workbook(read_only=True, data_only=True) with the shared strings read fast."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class Reader(ExcelReader):
        def read_strings(self):
            ct = self.package.find(SHARED_STRINGS)
            if ct is not None:
                with self.archive.open(ct.PartName[1:]) as src:
                    self.shared_strings = _read_shared_strings(src)

    reader = Reader(stream, read_only=True, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


_COLUMN_CACHE: dict[str, int] = {}


def _column_index(ref: str) -> int:
    """'AB12' -> 27 (0-based)."""
    letters = ref.rstrip("0123456789")
    index = _COLUMN_CACHE.get(letters)
    if index is None:
        index = 0
        for ch in letters.upper():
            index = index * 26 + (ord(ch) - 64)
        index -= 1
        _COLUMN_CACHE[letters] = index
    return index


class _Parser:
    """Stream one read-only worksheet's rows: cached values (as openpyxl's data_only mode gives
    them), which rows are hidden, which cells hold a formula with no cached value, and the
    merged ranges (they come after the rows in the file)."""

    def __init__(self, ws):
        wb = ws.parent
        self.ws = ws
        self.strings = ws._shared_strings
        self.date_formats = wb._date_formats
        self.timedelta_formats = wb._timedelta_formats
        self.epoch = wb.epoch
        self.source = ws._get_source()
        self.merged: list[str] = []

    def rows(self) -> Iterator[_RawRow]:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        strings, date_formats, timedelta_formats, epoch = self.strings, self.date_formats, self.timedelta_formats, self.epoch
        counter = 0
        sheet_data = None
        try:
            for event, element in _iterparse(self.source, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    if tag == _SHEET_DATA:
                        sheet_data = element
                    continue
                if tag == _ROW:
                    r = element.get("r")
                    counter = int(float(r)) if r else counter + 1
                    hidden = element.get("hidden") in ("1", "true")
                    values: list[Any] = []
                    formulas: set[int] = set()
                    col = -1
                    for c in element:
                        if c.tag != _C:
                            continue
                        ref = c.get("r")
                        col = _column_index(ref) if ref else col + 1
                        kind = c.get("t", "n")
                        if kind == "inlineStr":
                            node = c.find(_IS)
                            if node is None:
                                value = None
                            else:
                                t = node.find(_T)
                                value = (t.text or "") if t is not None else "".join(
                                    x.findtext(_T) or "" for x in node.iterfind(_R))
                        else:
                            value = c.findtext(_V)
                            if value is None or value == "":
                                value = None
                                if c.find(_F) is not None:
                                    formulas.add(col)
                            elif kind == "s":
                                value = strings[int(value)]
                            elif kind == "n":
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
                            # "str" (formula text result) and "e" (error) stay text
                        if value is not None:
                            if col >= len(values):
                                values.extend([None] * (col + 1 - len(values)))
                            values[col] = value
                    element.clear()
                    if sheet_data is not None:
                        sheet_data.clear()  # drop finished rows from the tree, so memory stays flat
                    if values or hidden:
                        yield _RawRow(counter, values, hidden, formulas)
                elif tag == _MERGE_CELL:
                    ref = element.get("ref")
                    if ref:
                        self.merged.append(ref)
        finally:
            self.close()

    @property
    def merged_ranges(self) -> list[tuple[str, int, int, int, int]]:
        from openpyxl.utils.cell import range_boundaries

        out = []
        for ref in self.merged:
            min_col, min_row, max_col, max_row = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
            out.append((ref, min_col - 1, min_row, max_col - 1, max_row))
        return out

    def close(self) -> None:
        try:
            self.source.close()
        except Exception:  # pragma: no cover - closing a zip member never matters
            pass


def _read_loaded_workbook(wb, path: Path) -> Sheet:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    worksheets = [ws for ws in wb.worksheets if isinstance(ws, ReadOnlyWorksheet)]
    candidates = []
    for ws in worksheets:
        parser = _Parser(ws)
        rows = parser.rows()
        header = _find_header(rows)
        rows.close()
        if header is not None:
            candidates.append(ws)
    if not candidates:
        raise _reject("no_action_sheet", name=path.name, sheets=", ".join(f"'{ws.title}'" for ws in wb.worksheets) or "none")
    if len(candidates) > 1:
        raise _reject("several_action_sheets", name=path.name, sheets=", ".join(f"'{ws.title}'" for ws in candidates))
    ws = candidates[0]
    parser = _Parser(ws)
    sheet = _build_sheet(path, ws.title, parser.rows(), merged=lambda: parser.merged_ranges)
    settings_ws = next((w for w in worksheets if w.title.strip().lower() == "settings" and w is not ws), None)
    if settings_ws is not None:
        _read_settings_sheet(settings_ws, sheet)
    return sheet


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
        for number, values in enumerate(reader, start=1):
            yield _RawRow(number, [v if v != "" else None for v in values])

    sheet_name = path.stem
    header = _find_header(rows())
    if header is None:
        raise _reject("no_action_sheet", name=path.name, sheets=f"'{sheet_name}'")
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    return _build_sheet(path, sheet_name, rows(), merged=lambda: [])


# ---------------------------------------------------------------------------------------
# Rows -> Sheet


def _build_sheet(path: Path, sheet_name: str, rows: Iterator[_RawRow], merged) -> Sheet:
    header: _RawRow | None = None
    data: list[_RawRow] = []
    hidden: list[int] = []
    for raw in rows:
        if header is None:
            if raw.number <= HEADER_SEARCH_ROWS and "action" in _header_fields(raw.values):
                header = raw
            continue
        if all(_blank(v) for v in raw.values):
            continue
        if raw.hidden:
            hidden.append(raw.number)
        data.append(raw)
    assert header is not None  # the sheet was chosen because it has one

    # Merged cells come after the rows in the file, so they are checked once all is read.
    header_merges, data_merges = [], []
    for ref, min_col, min_row, max_col, max_row in merged():
        if min_row <= header.number <= max_row:
            header_merges.append(ref)
        elif max_row > header.number:
            data_merges.append(ref)
    if header_merges:
        raise _reject("merged_header", row=header.number, ranges=", ".join(header_merges),
                      problem_kw={"sheet": sheet_name, "row": header.number})
    if data_merges:
        raise _reject("merged_data", ranges=_list_some(data_merges),
                      problem_kw={"sheet": sheet_name, "row": _first_row(data_merges)})
    if hidden:
        raise _reject(
            "hidden_rows", count=len(hidden), s="" if len(hidden) == 1 else "s",
            rows_are="is" if len(hidden) == 1 else "are",
            rows=("row " if len(hidden) == 1 else "rows ") + _list_some([str(n) for n in hidden]),
            problem_kw={"sheet": sheet_name, "row": hidden[0]},
        )

    width = max([len(header.values)] + [len(r.values) for r in data])
    headers = [("" if v is None else display(v)) for v in header.values] + [""] * (width - len(header.values))
    found = _header_fields(header.values)
    columns = {name: indexes[0] for name, indexes in found.items()}
    sheet = Sheet(source=path, sheet_name=sheet_name, header_row=header.number, headers=headers, columns=columns)
    for name, indexes in found.items():
        if len(indexes) > 1:
            letters = " and ".join(f"{column_letter(i)} ({headers[i]})" for i in indexes)
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
    return sheet


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


def _read_settings_sheet(ws, sheet: Sheet) -> None:
    parser = _Parser(ws)
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
                    sheet.problems.append(Problem(f"Mode '{display(answer)}' is not Preview or Apply: choose Preview (nothing changes in Alma) or Apply from the list.", **where))
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
                        sheet.problems.append(Problem(f"'{address}' is not an email address: write addresses like name@library.edu, separated by commas.", **where))
            break
    parser.close()


__all__ = ["FileRejected", "MESSAGES", "SYNONYMS", "field_for_header", "normalise_header", "parse_action", "read_workbook"]
