"""What intake will hold from one file (issue 10, point 9): every limit refuses as soon as it is met."""
from __future__ import annotations

import subprocess
import sys
import zipfile

from p2e.intake import limits, read_workbook
from p2e.model import Action
from .conftest import data_row, HEADER_XML, inline, MMS_1, MMS_2, NS, PROJECT, raw_workbook, rejected


# === point 9: bound what intake will hold ======================================================

def test_inline_cell_longer_than_excel_allows_is_refused_naming_the_cell(tmp_path):
    rows = HEADER_XML + data_row(2) + '<row r="3">' + inline("A3", MMS_2) + inline("B3", "keep") + \
        inline("C3", "x" * 40_000) + "</row>"
    exc = rejected(raw_workbook(tmp_path / "long.xlsx", rows))
    problem = exc.problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 3, "C")
    assert problem.message == (
        "This cell holds 40,000 characters, more than Excel allows in a cell (32,767), so the file was not made "
        "by Excel or is damaged. Shorten the cell (or clear it), save the file in Excel as 'Excel Workbook "
        "(.xlsx)', and put it back in the folder.")


def test_shared_string_longer_than_excel_allows_is_refused_naming_the_cell(tmp_path):
    rows = HEADER_XML + data_row(2) + '<row r="3"><c r="D3" t="s"><v>1</v></c></row>'
    exc = rejected(raw_workbook(tmp_path / "long.xlsx", rows, strings=["short", "y" * 50_000]))
    problem = exc.problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 3, "D")
    assert "holds 50,000 characters, more than Excel allows in a cell (32,767)" in problem.message


def test_a_huge_shared_string_is_refused_before_it_is_held(tmp_path):
    """The probe's 1.2 MB workbook held one 1.15 GB string; here 300 MB. A subprocess reads it and reports
    its peak memory: the refusal must come long before the string is held (which would take > 600 MB)."""
    path = raw_workbook(tmp_path / "huge.xlsx", HEADER_XML + data_row(2), big_string_chars=300 * 1024 * 1024)
    assert path.stat().st_size < 2 * 1024 * 1024
    script = (
        "import sys, resource\n"
        "from p2e.intake import read_workbook, FileRejected\n"
        "try:\n"
        "    read_workbook(sys.argv[1], max_file_mb=50)\n"
        "    print('READ')\n"
        "except FileRejected as exc:\n"
        "    print(exc)\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=PROJECT,
                          timeout=600)
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert "holds more text in one cell than Excel allows (32,767 characters)" in out
    peak_mb = int(out.rsplit("PEAK", 1)[1])
    assert peak_mb < 300, out


def test_cell_reference_past_column_xfd_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2, extra='<c r="XFE2" t="inlineStr"><is><t>x</t></is></c>')
    exc = rejected(raw_workbook(tmp_path / "wide.xlsx", rows))
    problem = exc.problems[0]
    assert (problem.sheet, problem.row) == ("P2E", 2)
    assert problem.message == (
        "Row 2 has a cell at XFE2, outside Excel's grid (Excel's last column is XFD and its last row is 1,048,576), "
        "so the file was not made by Excel or is damaged. Open it in Excel (let Excel repair it if it offers to), "
        "save it as 'Excel Workbook (.xlsx)', and put it back in the folder.")


def test_a_very_long_cell_reference_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2, extra=f'<c r="{"Z" * 5000}2"><v>1</v></c>')
    exc = rejected(raw_workbook(tmp_path / "wide.xlsx", rows))
    assert "outside Excel's grid" in exc.problems[0].message
    assert len(exc.problems[0].message) < 400


def test_a_number_longer_than_excel_writes_is_refused(tmp_path):
    """Excel's numbers are doubles; 4,000 digits would be held as a huge integer (and echoed whole)."""
    rows = HEADER_XML + data_row(2, extra=f'<c r="C2"><v>{"7" * 4000}</v></c>')
    problem = rejected(raw_workbook(tmp_path / "digits.xlsx", rows)).problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("P2E", 2, "C")
    assert problem.message.startswith("The file digits.xlsx is damaged: this cell holds a value that cannot be read.")


def test_row_number_past_excels_last_row_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2) + data_row(1_048_577, mms=MMS_2)
    exc = rejected(raw_workbook(tmp_path / "tall.xlsx", rows))
    problem = exc.problems[0]
    assert problem.sheet == "P2E"
    assert problem.message.startswith("Row 1,048,577 is past Excel's last row (1,048,576), so the file was not "
                                      "made by Excel or is damaged.")


def test_too_many_cells_is_refused_early(tmp_path, monkeypatch):
    """Rows x columns (as the results workbook hands them back) is bounded; one stray cell far right counts."""
    monkeypatch.setattr(limits, "MAX_CELLS", 5_000)
    rows = HEADER_XML + data_row(2, extra=inline("CV2", "stray")) + "".join(data_row(n, "keep", MMS_2)
                                                                            for n in range(3, 200))
    exc = rejected(raw_workbook(tmp_path / "many.xlsx", rows))
    problem = exc.problems[0]
    assert problem.sheet == "P2E"
    assert problem.message.startswith("The sheet 'P2E' is too big to process in one file: ")
    assert "100 columns" in problem.message and "CV2" in problem.message


def test_a_sheet_without_dimension_is_bounded_before_openpyxl_reads_it(tmp_path, monkeypatch):
    """openpyxl reads a sheet whole (pure Python, an element kept per row) when <dimension> is missing:
    a sheet far bigger than intake would hold is refused before that pass."""
    monkeypatch.setattr(limits, "MAX_CELLS", 1_000)
    cells = "".join('<c t="s"><v>0</v></c>' for _ in range(16))
    rows = HEADER_XML + "".join(f'<row r="{n}">{cells}</row>' for n in range(2, 2_000))
    exc = rejected(raw_workbook(tmp_path / "nodim.xlsx", rows, strings=["x"]))
    assert exc.problems[0].message.startswith("A sheet in nodim.xlsx is too big to process in one file (more than "
                                              "1,000 cells, or more rows than Excel has).")


def test_more_rows_than_excel_has_without_numbers_is_refused(tmp_path):
    rows = HEADER_XML + data_row(2) + "<row/>" * 1_048_576
    exc = rejected(raw_workbook(tmp_path / "rows.xlsx", rows))
    assert exc.problems[0].message.startswith("A sheet in rows.xlsx is too big to process in one file")


def test_styles_with_far_more_elements_than_excel_writes_are_refused(tmp_path, monkeypatch):
    """openpyxl builds an object for every style element: millions of tiny ones would take gigabytes."""
    monkeypatch.setattr(limits, "MAX_PART_ELEMENTS", 10_000)
    path = raw_workbook(tmp_path / "styles.xlsx", HEADER_XML + data_row(2))
    styles = (f'<styleSheet xmlns="{NS}"><cellXfs count="20000">' + '<xf numFmtId="0"/>' * 20_000
              + "</cellXfs></styleSheet>")
    target = tmp_path / "styles2.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, styles if info.filename == "xl/styles.xml" else zin.read(info.filename))
    assert rejected(target).problems[0].message.startswith("The file styles2.xlsx is damaged: part of it cannot be read.")


def test_parts_openpyxl_does_not_read_are_not_bounded_by_it(tmp_path, monkeypatch):
    """Comments and drawings are never read, so many of them do not refuse the file."""
    monkeypatch.setattr(limits, "MAX_PART_ELEMENTS", 10_000)
    path = raw_workbook(tmp_path / "comments.xlsx", HEADER_XML + data_row(2))
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("xl/comments1.xml", f'<comments xmlns="{NS}"><commentList>' + "<comment/>" * 20_000
                   + "</commentList></comments>")
    assert read_workbook(path).rows[0].action is Action.DELETE


def test_too_many_rows_is_refused(tmp_path, monkeypatch):
    """Each row costs memory besides its cells: 990,000 rows of 3 cells took 573 MB."""
    monkeypatch.setattr(limits, "MAX_ROWS", 100)
    rows = HEADER_XML + "".join(data_row(n, "keep", MMS_2) for n in range(2, 300))
    problem = rejected(raw_workbook(tmp_path / "tall.xlsx", rows)).problems[0]
    assert (problem.sheet, problem.row) == ("P2E", 102)
    assert problem.message == ("The sheet 'P2E' has more than 100 rows to process, more than the processor takes in "
                               "one file. Split the rows into several smaller files and put them in the folder one at "
                               "a time.")


def test_too_much_text_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 10_000)
    strings = [f"{i:05d}" + "t" * 100 for i in range(200)]
    rows = HEADER_XML + data_row(2)
    exc = rejected(raw_workbook(tmp_path / "text.xlsx", rows, strings=strings))
    assert exc.problems[0].message.startswith("The file text.xlsx holds more text than the processor reads in one file")


def test_a_workbook_inside_the_limits_is_still_read(tmp_path):
    rows = HEADER_XML + data_row(2) + '<row r="3"><c r="A3" t="s"><v>0</v></c>' + inline("B3", "keep") + \
        inline("XFD3", "far right is allowed") + "</row>"
    sheet = read_workbook(raw_workbook(tmp_path / "ok.xlsx", rows, strings=[MMS_2]))
    assert [(r.number, r.mms_id, r.action) for r in sheet.rows] == [(2, MMS_1, Action.DELETE), (3, MMS_2, Action.KEEP)]
    assert len(sheet.headers) == 16384
