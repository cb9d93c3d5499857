"""The strict-shape row reader (p2e.intake.strict) gives exactly what expat's handlers give.

Every sheet here is read twice, with ``strict_rows`` on and off, and the two readings must agree
value by value and type by type (or refuse the file with the same message). The sheets cover what
Excel, openpyxl and xlsxwriter write, and the shapes only expat may read: the strict reader must
hand those to expat, never read them its own way.
"""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest
import xlsxwriter

from p2e.intake import read_workbook
from p2e.intake.limits import TextBudget
from p2e.intake.messages import FileRejected
from p2e.intake.package import open_package
from p2e.intake.worksheet import SheetReader
from .conftest import MMS, NS, inline, raw_workbook, rewrite_member

PID = "53212785660005899"


def reading(path, strict_rows):
    """Everything one reading gives: the rows (each value with its type), merged ranges, hidden columns."""
    with zipfile.ZipFile(path) as archive:
        book = open_package(archive, TextBudget(path.name))
        reader = SheetReader(book, book.sheets[0], TextBudget(path.name), strict_rows=strict_rows)
        try:
            rows = [(r.number, [(type(v).__name__, v) for v in r.values], r.hidden, sorted(r.formula_columns))
                    for r in reader.rows()]
            found = (rows, reader.merged_ranges, reader.hidden_columns, reader.rows_hidden_by_default)
        except FileRejected as exc:  # the message staff would read
            return ("refused", str(exc)), reader
        except Exception as exc:  # noqa: BLE001 - damaged XML: plain_refusals() words it the same for any of these
            return ("refused", type(exc).__name__), reader
    return found, reader


def both_ways(path):
    """The strict and the expat reading, checked equal; the strict reader (to see how many rows it read)."""
    strict, reader = reading(path, True)
    expat, _ = reading(path, False)
    assert strict == expat
    return strict, reader


def rows_xml(path, rows: str, extra: str = "", strings=None):
    return raw_workbook(path, rows, strings=strings, sheet_extra=extra)


def test_an_xlsxwriter_workbook_is_read_strictly_and_the_same(tmp_path):
    path = tmp_path / "x.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("P2E")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    text = wb.add_format({"num_format": "@"})
    ws.write_row(0, 0, ["MMS ID", "Portfolio ID", "Action", "When", "Count", "Done", "Sum", "Note"])
    for r in range(1, 40):
        ws.write_string(r, 0, MMS, text)
        ws.write_number(r, 1, 9.91704271220589e15)
        ws.write_string(r, 2, "delete")
        ws.write_datetime(r, 3, dt.datetime(2026, 11, r % 28 + 1), date)
        ws.write_number(r, 4, r)
        ws.write_boolean(r, 5, r % 2 == 0)
        ws.write_formula(r, 6, f"=E{r + 1}*2", None, r * 2)
        ws.write_formula(r, 7, f'=A{r + 1}&"x"', None, MMS + "x")
    ws.write_blank(41, 2, None, text)  # a styled empty cell
    ws.set_row(5, None, None, {"hidden": True})
    ws.set_column(7, 7, None, None, {"hidden": True})
    ws.merge_range("A45:B45", "merged")
    ws.write_string(46, 3, "a > b ' \" tab\there")
    wb.close()
    (rows, merged, hidden_columns, _), reader = both_ways(path)
    assert reader.strict_count == len(rows) + 1  # every row, strictly (and the empty styled one)
    assert rows[1][1][:2] == [("str", MMS), ("int", 9917042712205890)]  # as xlsxwriter wrote it
    assert rows[5][2] is True  # the hidden row
    assert merged and hidden_columns == [(7, 7)]


def test_an_openpyxl_workbook_is_read_strictly_and_the_same(tmp_path):
    path = tmp_path / "o.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MMS ID", "Action", "When", "Formula"])
    for r in range(2, 30):
        ws.append([MMS, "delete", dt.date(2026, 1, r), f"=A{r}"])  # formulas with no cached value
    ws.row_dimensions[4].hidden = True
    wb.save(path)
    (rows, *_), reader = both_ways(path)
    assert reader.strict_count == 29
    assert rows[1][3] == [3]  # the uncalculated formula's column, found both ways


def test_a_workbook_read_whole_gives_the_same_sheet_either_way(tmp_path, monkeypatch):
    path = tmp_path / "p2e.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("P2E")
    ws.write_row(0, 0, ["MMS ID", "Portfolio ID", "Action"])
    ws.write_row(1, 0, [MMS, PID, "delete"])
    ws.write_row(2, 0, [9.91704271220589e15, PID, "delete"])
    wb.close()
    strict = read_workbook(path)
    monkeypatch.setattr(SheetReader.__init__, "__defaults__", (False,))
    expat = read_workbook(path)
    assert [(r.number, r.values, r.mms_id) for r in strict.rows] == [(r.number, r.values, r.mms_id) for r in expat.rows]
    assert strict.problems == expat.problems and len(strict.problems) == 1


ROW_ATTRIBUTES = '<row r="2" spans="1:2" x14ac:dyDescent="0.25">'


@pytest.mark.parametrize("rows, extra_ns, strict_rows", [
    # Excel's own attributes, with the prefix declared on the root
    (f'{ROW_ATTRIBUTES}<c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>', True, 1),
    # rows and cells with no reference: the next row, the next column
    ('<row><c t="s"><v>0</v></c><c><v>5</v></c></row><row><c r="C3"><v>6</v></c></row>', False, 0),
    # plain inline strings (openpyxl writes them), with and without xml:space, empty, with entities
    ('<row r="2">' + inline("A2", "text") + inline("B2", " a &amp; b ") + inline("C2", "") + '</row>'
     '<row r="3"><c r="A3" t="inlineStr"><is><t xml:space="preserve"> x </t></is></c><c r="B3" t="inlineStr"/>'
     '<c r="C3" t="inlineStr"><v>3</v></c></row>', False, 2),
    # rich text in the middle: strict before, expat from there on
    ('<row r="2"><c r="A2" t="s"><v>0</v></c></row><row r="3"><c r="A3" t="inlineStr"><is><r><t>a</t></r>'
     '<r><rPr><b/></rPr><t>b</t></r><rPh><t>c</t></rPh></is></c></row><row r="4"><c r="A4"><v>4</v></c></row>', False, 1),
    # a comment, and white space between rows: expat's
    ('<row r="2"><c r="A2"><v>1</v></c></row><!-- <row r="9"><c r="A9"><v>9</v></c></row> -->'
     '<row r="3"><c r="A3"><v>3</v></c></row>\n  <row r="5"><c r="A5"><v>5</v></c></row>', False, 1),
    # pretty-printed: all expat's
    ('\n  <row r="2">\n    <c r="A2"><v>1</v></c>\n  </row>\n', False, 0),
    # entities and character references in a text value
    ('<row r="2"><c r="A2" t="str"><f>A1</f><v>a &amp; b &#x41;</v></c></row>', False, 0),
    # a shared formula with and without a cached value, an error, an ISO date, an empty value, a boolean
    ('<row r="2"><c r="A2"><f t="shared" ref="A2:A3" si="0">B2</f><v>3</v></c><c r="B2"><f t="shared" si="0"/></c>'
     '<c r="C2" t="e"><v>#N/A</v></c><c r="D2" t="d"><v>2026-11-30T10:00:00</v></c><c r="E2"><v></v></c>'
     '<c r="F2" t="b"><v>1</v></c></row>', False, 1),
    # cell attributes in another order, lower-case references, a row number written "3.0"
    ('<row r="2"><c t="s" r="A2"><v>0</v></c></row><row r="3.0"><c r="b3"><v>1</v></c></row>', False, 0),
    # rows hidden and zero high
    ('<row r="2" hidden="1"><c r="A2"><v>1</v></c></row><row r="3" ht="0" customHeight="1"><c r="A3"><v>1</v></c></row>'
     '<row r="4" hidden="1"/>', False, 3),
    # single quotes: expat's
    ("<row r='2'><c r='A2'><v>1</v></c></row>", False, 0),
    # XML's entities in a formula and a value, across rows read all at once
    ('<row r="2"><c r="A2" t="str"><f>A1&amp;"x"</f><v>a &amp; b &lt;c&gt;</v></c></row>'
     '<row r="3" spans="1:2"><c r="A3"><v>3</v></c><c r="B3" t="s"><v>1</v></c></row>', False, 2),
])
def test_shapes_are_read_the_same_either_way(tmp_path, rows, extra_ns, strict_rows):
    path = tmp_path / "s.xlsx"
    raw_workbook(path, '<row r="1"><c r="A1" t="s"><v>0</v></c></row>' + rows, strings=["MMS ID", "Action"])
    if extra_ns:
        rewrite_member(path, tmp_path / "ns.xlsx", "xl/worksheets/sheet1.xml", lambda data: data.replace(
            f'<worksheet xmlns="{NS}">'.encode(),
            f'<worksheet xmlns="{NS}" xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac">'.encode()))
        path = tmp_path / "ns.xlsx"
    found, reader = both_ways(path)
    assert found[0] != "refused", found
    assert reader.strict_count == strict_rows + 1  # and the header row


@pytest.mark.parametrize("rows", [
    '<row r="2" r="3"><c r="A2"><v>1</v></c></row>',                       # an attribute twice
    '<row r="2" y:z="1"><c r="A2"><v>1</v></c></row>',                     # a prefix never declared
    '<row r="2"><c r="A2" t="str"><v>a ]]> b</v></c></row>',               # "]]>" in text
    '<row r="2"><c r="A2" t="str"><v>a \x01 b</v></c></row>',              # a control character
    '<row r="2"><c r="A2" t="str"><v>a \ufffe b</v></c></row>',            # a character XML does not allow
    '<row r="2"><c r="A2"><v>1</v></c></row><row r="3"><c r="A3"><v>2</v></c>',  # a row never closed
    '<row r="2"><c r="XFE2"><v>1</v></c></row>',                           # outside Excel's grid
    '<row r="1048577"><c r="A1048577"><v>1</v></c></row>',                 # past Excel's last row
    '<row r="2"><c r="A2" t="s"><v>7</v></c></row>',                       # a shared string that is not there
    '<row r="2"><c r="A2"><v>12abc</v></c></row>',                         # a number that is not one
    '<row r="2"><c r="A2"><v>1</v></c></row><c r="A3"><v>1</v></c></row>',  # a cell outside a row
])
def test_what_expat_refuses_is_refused_the_same_either_way(tmp_path, rows):
    path = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(raw_workbook(tmp_path / "base.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                                      strings=["MMS ID", "Action"])) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    rewrite_member(tmp_path / "base.xlsx", path, "xl/worksheets/sheet1.xml",
                   lambda data: sheet.replace(b"</sheetData>", rows.encode("utf-8") + b"</sheetData>"))
    found, _ = both_ways(path)
    assert found[0] == "refused"


def test_a_sheet_data_tag_in_a_comment_is_not_taken_for_the_real_one(tmp_path):
    path = tmp_path / "c.xlsx"
    raw_workbook(path, '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>1</v></c></row>',
                 strings=["MMS ID", "Action"],
                 sheet_extra='<!-- <sheetData><row r="7"><c r="A7"><v>7</v></c></row></sheetData> -->')
    (rows, *_), reader = both_ways(path)
    assert [r[0] for r in rows] == [1, 2]
    assert reader.strict_count == 0


@pytest.mark.parametrize("change", [
    # another encoding declared: expat decodes it
    lambda data: data.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'),
    # the main namespace under a prefix: expat resolves it
    lambda data: data.replace(f'<worksheet xmlns="{NS}">'.encode(), f'<x:worksheet xmlns:x="{NS}">'.encode())
    .replace(b"<sheetData>", b"<x:sheetData>").replace(b"</sheetData>", b"</x:sheetData>")
    .replace(b"</worksheet>", b"</x:worksheet>").replace(b"<row", b"<x:row").replace(b"</row>", b"</x:row>")
    .replace(b"<c ", b"<x:c ").replace(b"</c>", b"</x:c>").replace(b"<v>", b"<x:v>").replace(b"</v>", b"</x:v>"),
    # an empty sheet data
    lambda data: data.replace(b"<sheetData>", b"<sheetData/>").split(b"<row")[0] + b"</worksheet>",
])
def test_parts_only_expat_can_read_are_left_to_it(tmp_path, change):
    path = tmp_path / "e.xlsx"
    raw_workbook(tmp_path / "base.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>1</v></c></row>',
                 strings=["MMS ID", "Action"])
    rewrite_member(tmp_path / "base.xlsx", path, "xl/worksheets/sheet1.xml", change)
    found, reader = both_ways(path)
    assert reader.strict_count == 0
