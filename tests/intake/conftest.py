"""Shared helpers for the intake tests: workbooks built here (openpyxl, xlsxwriter, or zipfile with
hand-written XML, which keeps hostile files small on disk), and the assertions on a refusal."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest
import xlsxwriter

from p2e.intake import FileRejected, read_workbook
from p2e.model import Problem


MMS = "9917042712205899"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PROJECT = Path(__file__).resolve().parents[2]
MMS_1, MMS_2, MMS_3 = "9917042712205899", "9917042812205899", "9917042912205899"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def good_workbook(path, rows=None, title="P2E"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows or [["MMS ID", "Action"], [MMS, "delete"]]:
        ws.append(row)
    wb.save(path)
    return path


def rejected(path, **kw) -> FileRejected:
    with pytest.raises(FileRejected) as info:
        read_workbook(path, **kw)
    exc = info.value
    assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
    return exc


def only_message(path, **kw) -> str:
    exc = rejected(path, **kw)
    assert len(exc.problems) == 1
    assert str(exc) == str(exc.problems[0])
    return exc.problems[0].message


def rewrite_member(source, target, member, change):
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == member:
                data = change(data)
            zout.writestr(info, data)
    return target


def save(tmp_path, rows, name="p2e.xlsx", title="P2E", formats=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for coord, fmt in (formats or {}).items():
        ws[coord].number_format = fmt
    path = tmp_path / name
    wb.save(path)
    return path


def workbook(tmp_path, rows, name="p2e.xlsx", change=None, extra_sheet=False):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    for row in rows:
        ws.append(row)
    if extra_sheet:
        wb.create_sheet("Notes").append(["Read me"])
    if change:
        change(wb, ws)
    path = tmp_path / name
    wb.save(path)
    return path


# --- raw workbooks: a real xlsxwriter file whose sheet and shared strings are replaced ---------

def raw_workbook(path: Path, rows_xml: str, strings: list[str] | None = None, big_string_chars: int = 0,
                 sheet_extra: str = "") -> Path:
    """A workbook whose sheet1.xml holds ``rows_xml`` and whose shared strings are ``strings``
    (plus, when ``big_string_chars``, one string of that many characters, streamed into the zip)."""
    base = path.with_suffix(".base.xlsx")
    wb = xlsxwriter.Workbook(str(base))
    ws = wb.add_worksheet("P2E")
    ws.write_string(0, 0, "x")
    wb.close()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout:
        for info in zin.infolist():
            if info.filename in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                continue
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr("xl/worksheets/sheet1.xml",
                      f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}">'
                      f'{sheet_extra}<sheetData>{rows_xml}</sheetData></worksheet>')
        with zout.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            items = list(strings or [])
            out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{NS}">'.encode())
            for s in items:
                out.write(f"<si><t>{escape(s)}</t></si>".encode())
            if big_string_chars:
                out.write(b"<si><t>")
                block = b"a" * (1 << 20)
                left = big_string_chars
                while left > 0:
                    out.write(block[:min(left, len(block))])
                    left -= len(block)
                out.write(b"</t></si>")
            out.write(b"</sst>")
    base.unlink()
    return path


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


HEADER_XML = '<row r="1">' + inline("A1", "MMS ID") + inline("B1", "Action") + "</row>"


def data_row(n: int, action: str = "delete", mms: str = MMS_1, extra: str = "") -> str:
    return f'<row r="{n}">' + inline(f"A{n}", mms) + inline(f"B{n}", action) + extra + "</row>"


# === point 11: damaged workbooks: plain messages, and what the file really is ====================

def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


CT = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def run_cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALMA", "P2E"))}
    return subprocess.run([sys.executable, str(PROJECT / "processor.py"), *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)
