"""What a file really is, from its first bytes and (for a ZIP file) its members, and the rejection of
everything that is not a workbook or CSV file intake reads, named for what it is.

>>> text_kind(b"%PDF-1.7"), text_kind(b"<html><table>"), text_kind(b"MMS ID,Action")
('pdf', 'html', None)
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from . import limits
from .messages import reject
from .parts import read_whole_at_open

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")


def sniff(path: Path, max_file_mb: float) -> str:
    """"xlsx", "xls", "ods" or "csv": how to read the file, from what it really is (not only its name); anything
    else is refused. An .ods file renamed .xlsx is read as .ods, an .xls file renamed .xlsx as .xls, and the reverse."""
    name = path.name
    suffix = path.suffix.lower()
    if suffix == ".numbers":
        raise reject("numbers", name=name)
    if not path.exists():
        raise reject("missing", name=name)
    if path.is_dir():
        raise reject("folder", name=name)
    size = path.stat().st_size
    if size == 0:
        raise reject("empty", name=name)
    if size > max_file_mb * 1024 * 1024:
        raise reject("too_big", name=name, size=size / 1024 / 1024, limit=max_file_mb)
    with path.open("rb") as f:
        start = f.read(4096)
    head = start[:8]

    if head.startswith(ZIP_MAGIC):
        if suffix == ".xlsb":
            raise reject("xlsb", name=name)
        if suffix in WORKBOOK_SUFFIXES + (".ods", ".xls", ".csv"):
            return "ods" if is_ods_package(path) else "xlsx"
        raise reject("unsupported", name=name)
    if head == OLE2_MAGIC:
        kind = ole2_kind(path)
        if kind == "word":
            raise reject("other_kind", name=name, kind="a Word document (.doc)", suffix=suffix or "nothing")
        if kind == "encrypted":
            raise reject("encrypted", name=name)
        if kind == "xls" or suffix == ".xls":  # an .xls renamed .xlsx is read as .xls (xlrd refuses a damaged one)
            if suffix in WORKBOOK_SUFFIXES + (".xls", ".xlsb"):
                return "xls"
        if suffix in WORKBOOK_SUFFIXES + (".xlsb",):
            raise reject("encrypted", name=name)
        raise reject("unsupported", name=name)
    kind = text_kind(start)
    if suffix == ".xls":  # an HTML table, Excel 2003 XML or a text export saved as .xls
        if kind in ("html", "xml2003"):
            raise reject(kind, name=name, suffix=suffix)
        raise reject("text_as_xls", name=name)
    if suffix == ".csv":
        return "csv"
    if suffix in WORKBOOK_SUFFIXES + (".ods",):
        if kind == "html":
            raise reject("html", name=name, suffix=suffix)
        if kind == "xml2003":
            raise reject("xml2003", name=name)
        if kind == "pdf":
            raise reject("other_kind", name=name, kind="a PDF document", suffix=suffix)
        raise reject("not_a_workbook", name=name, suffix=suffix)
    if suffix == ".xlsb":
        raise reject("xlsb", name=name)
    raise reject("unsupported", name=name)


def is_ods_package(path: Path) -> bool:
    """A ZIP file whose ``mimetype`` member says OpenDocument spreadsheet, whatever its name; False when it
    cannot be told (an incomplete ZIP file is then refused as an .xlsx one is)."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open("mimetype") as member:
            return b"opendocument.spreadsheet" in member.read(100)
    except (KeyError, zipfile.BadZipFile, EOFError, zlib.error, OSError, RuntimeError):
        return False


def text_kind(start: bytes) -> str | None:
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


def ole2_kind(path: Path) -> str | None:
    """encrypted (a password-protected .xlsx), word (.doc), xls, or None when it cannot be told."""
    found: set[str] = set()
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


def check_package(path: Path, max_file_mb: float) -> list[zipfile.ZipInfo]:
    """The members of a ZIP file named like a workbook, once it is known to be an Excel package that is
    complete, not a zip bomb, and not another kind of package (Numbers, .xlsb, Word, PowerPoint, OpenDocument)."""
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            unpacked = sum(m.file_size for m in members)
            names = {m.filename for m in members}
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError):
        raise reject("truncated", name=name) from None
    limit = max_file_mb * limits.MAX_UNPACK_RATIO
    if unpacked > limit * 1024 * 1024:
        raise reject("too_big_unpacked", name=name, size=unpacked / 1024 / 1024, limit=limit)
    if "Index/Document.iwa" in names:
        raise reject("numbers", name=name)
    suffix = path.suffix.lower() or "nothing"
    if "xl/workbook.bin" in names:
        raise reject("xlsb", name=name)
    if "word/document.xml" in names:
        raise reject("other_kind", name=name, kind="a Word document", suffix=suffix)
    if "ppt/presentation.xml" in names:
        raise reject("other_kind", name=name, kind="a PowerPoint presentation", suffix=suffix)
    if "mimetype" in names:
        try:
            with zipfile.ZipFile(path) as archive, archive.open("mimetype") as member:
                mimetype = member.read(100)
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, RuntimeError):
            mimetype = b""
        if b"opendocument" in mimetype:  # (a spreadsheet is read as .ods: see sniff)
            raise reject("other_kind", name=name, kind="an OpenDocument document (LibreOffice)",
                          suffix=suffix)
    if "[Content_Types].xml" not in names:
        raise reject("not_a_workbook", name=name, suffix=path.suffix.lower())
    # The parts read whole when the workbook is opened: none that Excel writes comes near this.
    if any(m.file_size > limits.MAX_OTHER_PART_BYTES for m in members
           if read_whole_at_open(m.filename) or m.filename.lower().startswith("xl/theme/")):
        raise reject("damaged", name=name)
    return members
