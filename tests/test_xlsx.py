"""Writing workbooks safely (p2e/xlsx.py), and safe XML parsing by openpyxl for the files it still reads."""
from __future__ import annotations

import openpyxl
import openpyxl.xml
import xlsxwriter

from p2e.xlsx import text_format, write_text


# --- safe parsing and safe output ----------------------------------------------------------

def test_openpyxl_parses_xml_with_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True


def test_write_text_never_writes_formulas_or_numbers(tmp_path):
    path = tmp_path / "out.xlsx"
    wb = xlsxwriter.Workbook(str(path))  # default options: write() would turn these into a formula / number
    ws = wb.add_worksheet()
    write_text(ws, 0, 0, "=SUM(1,2)")
    write_text(ws, 1, 0, "9917042712205899", text_format(wb))
    write_text(ws, 2, 0, 12)
    write_text(ws, 3, 0, None)
    write_text(ws, 4, 0, "x" * 40000)
    assert text_format(wb) is text_format(wb)
    wb.close()
    ws = openpyxl.load_workbook(path)["Sheet1"]
    assert ws["A1"].value == "=SUM(1,2)" and ws["A1"].data_type == "s"
    assert ws["A2"].value == "9917042712205899" and ws["A2"].data_type == "s" and ws["A2"].number_format == "@"
    assert ws["A3"].value == "12" and ws["A3"].data_type == "s"
    assert ws["A4"].value is None
    assert len(ws["A5"].value) == 32767 and ws["A5"].value.endswith(" [...]")
