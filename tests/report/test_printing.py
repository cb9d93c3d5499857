"""Printed results and template: the Results sheet one page wide in landscape; the Instructions on the page.

The page set-up is checked in the workbook's own XML (what every spreadsheet program reads). Where
LibreOffice is installed, the workbooks are also printed to PDF and the pages counted.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from p2e.model import Action, Outcome, Row, RowResult, Sheet
from p2e.report import RunInfo, write_results
from p2e.template import write_template

HEADERS = ["Voyager Bib ID", "MMS ID", "Portfolio ID", "Title", "Publisher", "ISBN", "ISSN", "856 URL", "Collection",
           "Coverage", "Notes", "Staff initials", "Action", "Bib handling"]


def _results_workbook(tmp_path: Path, rows: int = 12) -> Path:
    sheet = Sheet(tmp_path / "staff.xlsx", "P2E", 1, HEADERS, {"mms_id": 1, "portfolio_id": 2, "action": 12})
    results = []
    for n in range(2, rows + 2):
        values = [f"{n}00123", f"99{n:05d}12205899", f"53{n:05d}0005899", f"A title of row {n}", "A publisher",
                  "9781421400839", "", f"http://example.org/{n}", "Academic Complete", "2001-", "", "AB", "delete", ""]
        row = Row(n, values, action=Action.DELETE, mms_id=values[1], portfolio_id=values[2])
        sheet.rows.append(row)
        results.append(RowResult(row, Outcome.DONE, "Deleted portfolio and bib: no other inventory.",
                                 mms_id=values[1], portfolio_id=values[2], bib="deleted"))
    info = RunInfo("staff.xlsx", "Apply", "sandbox", datetime.now(), datetime.now(), "run-1", 24)
    return write_results(tmp_path / "results.xlsx", sheet, results, info)


def _sheet_xml(path: Path, sheet_name: str) -> str:
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet name="([^"]+)"', book)
        return z.read(f"xl/worksheets/sheet{names.index(sheet_name) + 1}.xml").decode()


@pytest.mark.parametrize("sheet_name", ["Results", "Needs attention"])
def test_result_sheets_print_one_page_wide_in_landscape(tmp_path, sheet_name):
    xml = _sheet_xml(_results_workbook(tmp_path), sheet_name)
    assert '<pageSetUpPr fitToPage="1"/>' in xml
    setup = re.search(r"<pageSetup [^>]*/>", xml).group(0)
    assert 'orientation="landscape"' in setup and 'fitToHeight="0"' in setup
    assert 'fitToWidth="0"' not in setup  # width: the default, one page


def _pdf_pages(path: Path, out: Path) -> int:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=180)
    pdf = (out / path.with_suffix(".pdf").name).read_bytes()
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


needs_libreoffice = pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")),
                                       reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")


@needs_libreoffice
def test_twelve_result_rows_print_on_a_few_pages_not_fifteen(tmp_path):
    # Summary (1 page) + Results (1 page) + Needs attention (nothing to print or 1 page).
    assert _pdf_pages(_results_workbook(tmp_path), tmp_path) <= 3


def _words_past_the_edge(pdf: Path) -> list[str]:
    """Words printed (partly) beyond their page's right edge, with the page number."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    past = []
    for number, page in enumerate(html.split("<page ")[1:], start=1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        for x_max, word in re.findall(r'xMax="([\d.]+)"[^>]*>([^<]*)</word>', page):
            if float(x_max) > width:
                past.append(f"page {number}: {word}")
    return past


@needs_libreoffice
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext is not installed (apt-get install poppler-utils)")
def test_the_template_prints_inside_the_page(tmp_path):
    template = write_template(tmp_path / "template.xlsx")
    pages = _pdf_pages(template, tmp_path)
    assert _words_past_the_edge(tmp_path / "template.pdf") == []
    assert pages <= 4  # Instructions on two pages, Actions and Settings on one each
