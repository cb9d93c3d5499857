"""OpenDocument spreadsheets (.ods, LibreOffice's default) are read like .xlsx, with the same rules (issue 11).

The .ods files are built here with zipfile and hand-written content.xml (mimetype first, stored), so
each rule is shown on the few XML lines that carry it; one round trip goes through LibreOffice itself
when it is installed, and one runs the whole pipeline on an .ods file against the sandbox.
"""
from __future__ import annotations

import gc
import shutil
import subprocess
import time
import tracemalloc
import zipfile
from xml.sax.saxutils import escape

import openpyxl
import pytest

from p2e.intake import limits, read_workbook
from p2e.model import Action, Mode
from .conftest import MMS_1, MMS_2, good_workbook, only_message

NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
      'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
      'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
      'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
      'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"')
# LibreOffice writes the empty rest of a sheet as one row repeated to the grid's end.
REST = ('<table:table-row table:number-rows-repeated="{n}"><table:table-cell '
        'table:number-columns-repeated="1024"/></table:table-row>')


def cell(value, attrs="") -> str:
    """One table:table-cell as LibreOffice writes it; a str starting with '<' is written as it is."""
    if value is None:
        return f"<table:table-cell {attrs}/>"
    if isinstance(value, str) and value.startswith("<"):
        return value
    if isinstance(value, bool):
        typed = f'office:value-type="boolean" office:boolean-value="{str(value).lower()}"'
    elif isinstance(value, (int, float)):
        typed = f'office:value-type="float" office:value="{value!r}"'
    else:
        typed = 'office:value-type="string"'
    return f"<table:table-cell {typed} {attrs}><text:p>{escape(str(value))}</text:p></table:table-cell>"


def row(values, attrs="") -> str:
    return f"<table:table-row {attrs}>{''.join(cell(v) for v in values)}</table:table-row>"


def table(name, rows, attrs="", columns="", rest=True) -> str:
    body = "".join(r if isinstance(r, str) else row(r) for r in rows)
    count = sum(1 for r in rows)
    tail = REST.format(n=1_048_576 - count) if rest else ""
    return f'<table:table table:name="{escape(name)}" {attrs}>{columns}{body}{tail}</table:table>'


def write_ods(path, *tables, auto_styles="", styles=None, content=None, mimetype="application/vnd.oasis.opendocument.spreadsheet"):
    tables = tables or (table("P2E", [["MMS ID", "Action"], [MMS_1, "delete"]]),)
    if content is None:
        content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS} office:version="1.3">'
                   f'<office:automatic-styles>{auto_styles}</office:automatic-styles><office:body>'
                   f'<office:spreadsheet>{"".join(tables)}</office:spreadsheet></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", content)
        if styles is not None:
            z.writestr("styles.xml", f'<office:document-styles {NS}><office:styles>{styles}</office:styles>'
                                     '</office:document-styles>')
        z.writestr("META-INF/manifest.xml", "<manifest/>")
    return path


HIDDEN_TABLE_STYLE = ('<style:style style:name="ta2" style:family="table"><style:table-properties '
                      'table:display="false"/></style:style>')


# === the file is read: text stays text, numbers stay numbers ==================================

def test_an_ods_file_is_read_like_an_xlsx_file(tmp_path):
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["Title"], [], ["MMS ID", "Action", "Notes"],
                                                        [MMS_1, "delete", "x"], [MMS_2, " Keep ", None]]))
    sheet = read_workbook(path)
    assert sheet.sheet_name == "P2E" and sheet.header_row == 3 and sheet.problems == []
    assert [(r.number, r.mms_id, r.action) for r in sheet.rows] == [(4, MMS_1, Action.DELETE), (5, MMS_2, Action.KEEP)]
    assert sheet.headers == ["MMS ID", "Action", "Notes"]


@pytest.mark.parametrize("value", [9.917042712205899e15, 99170427122058.5, 12345.0, 991234567890123456789.0])
def test_an_id_stored_as_a_number_is_checked_exactly_as_in_xlsx(tmp_path, value):
    ods = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action"], [value, "delete"]]))
    xlsx = good_workbook(tmp_path / "p2e.xlsx", [["MMS ID", "Action"], [value, "delete"]])
    from_ods, from_xlsx = read_workbook(ods), read_workbook(xlsx)
    assert [p.message for p in from_ods.problems] == [p.message for p in from_xlsx.problems]
    assert from_ods.rows[0].mms_id == from_xlsx.rows[0].mms_id
    if value != 12345.0:
        assert from_ods.problems, value


def test_an_id_written_as_a_whole_number_is_a_number_not_text(tmp_path):
    whole = '<table:table-cell office:value-type="float" office:value="9917042712205899"/>'
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action"], [whole, "delete"]]))
    assert read_workbook(path).problems[0].message.startswith(
        "Excel rounded this MMS ID (it now reads 9917042712205899): format the column as Text")


def test_percentages_currencies_dates_times_and_booleans_are_not_ids(tmp_path):
    typed = [
        '<table:table-cell office:value-type="percentage" office:value="0.5"><text:p>50%</text:p></table:table-cell>',
        '<table:table-cell office:value-type="currency" office:currency="USD" office:value="991234.25"/>',
        '<table:table-cell office:value-type="date" office:date-value="2023-03-15"/>',
        '<table:table-cell office:value-type="time" office:time-value="PT12H30M00S"/>',
        True,
    ]
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action"]] + [[v, "delete"] for v in typed]))
    sheet = read_workbook(path)
    assert [r.mms_id for r in sheet.rows] == [None] * 5
    messages = [p.message for p in sheet.problems]
    assert "decimal part" in messages[0] and "decimal part" in messages[1]
    assert "date or time (2023-03-15" in messages[2] and "date or time" in messages[3]
    assert "holds TRUE" in messages[4] or "not an ID" in messages[4]


def test_cell_text_keeps_spaces_tabs_lines_and_spans(tmp_path):
    note = ('<table:table-cell office:value-type="string"><text:p>a<text:s text:c="3"/>b<text:tab/>'
            '<text:span>c</text:span></text:p><text:p>d</text:p><office:annotation><text:p>comment'
            '</text:p></office:annotation></table:table-cell>')
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action", "Note"], [MMS_1, "delete", note]]))
    assert read_workbook(path).rows[0].values[2] == "a   b\tc\nd"


# === hidden rows, columns and sheets ===========================================================

@pytest.mark.parametrize("visibility", ["collapse", "filter"])
def test_a_hidden_row_that_asks_for_a_change_is_refused(tmp_path, visibility):
    hidden = row([MMS_2, "delete"], f'table:visibility="{visibility}"')
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "keep"], hidden]))
    assert only_message(path).startswith("1 hidden row (row 3) asks for a change in Alma (delete or relink).")


def test_a_hidden_row_marked_keep_is_fine(tmp_path):
    hidden = row([MMS_2, "keep"], 'table:visibility="collapse"')
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "delete"], hidden]))
    assert [r.number for r in read_workbook(path).rows] == [2, 3]


def test_a_hidden_action_column_is_refused_counting_repeated_columns(tmp_path):
    columns = ('<table:table-column table:number-columns-repeated="2"/>'
               '<table:table-column table:visibility="collapse"/>'
               '<table:table-column table:number-columns-repeated="16381"/>')
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Notes", "Action"], [MMS_1, "", "delete"]],
                                                 columns=columns))
    assert only_message(path).startswith("The Action column (column C) is hidden, and 1 row in it asks")


def test_a_hidden_sheet_is_refused_from_content_or_styles(tmp_path):
    hidden = table("P2E", [["MMS ID", "Action"], [MMS_1, "delete"]], attrs='table:style-name="ta2"')
    for path in (write_ods(tmp_path / "a.ods", hidden, auto_styles=HIDDEN_TABLE_STYLE),
                 write_ods(tmp_path / "b.ods", hidden, styles=HIDDEN_TABLE_STYLE)):
        assert only_message(path).startswith("The sheet 'P2E', which holds the Action column, is hidden")


# === merged cells, formulas, the Settings sheet ================================================

def test_merged_cells_in_the_header_or_below_it_are_refused(tmp_path):
    merged = '<table:table-cell office:value-type="string" table:number-columns-spanned="2"><text:p>MMS ID</text:p></table:table-cell><table:covered-table-cell/>'
    path = write_ods(tmp_path / "h.ods", table("P2E", [[merged, "Action"], [MMS_1, None, "delete"]]))
    assert only_message(path).startswith("The header row (row 1) has merged cells (A1:B1).")
    down = '<table:table-cell office:value-type="string" table:number-rows-spanned="2"><text:p>delete</text:p></table:table-cell>'
    path = write_ods(tmp_path / "d.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, down], [MMS_2, "<table:covered-table-cell/>"]]))
    assert only_message(path).startswith("Some cells below the header are merged (B2:B3)")


def test_a_formula_with_no_cached_value_is_refused_and_a_calculated_one_read(tmp_path):
    never = '<table:table-cell table:formula="of:=LOWER(&quot;DELETE&quot;)"/>'
    path = write_ods(tmp_path / "f.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, never]]))
    assert only_message(path).startswith("1 cell in the Action or ID columns holds a formula that has never been calculated (B2)")
    cached = ('<table:table-cell table:formula="of:=LOWER(&quot;DELETE&quot;)" office:value-type="string" '
              'office:string-value="delete"><text:p>delete</text:p></table:table-cell>')
    path = write_ods(tmp_path / "c.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, cached]]))
    assert read_workbook(path).rows[0].action is Action.DELETE


def test_the_settings_sheet_gives_mode_and_addresses_and_a_hidden_apply_is_a_problem(tmp_path):
    settings = table("Settings", [["Mode", "Apply"], ["Email results to", "a@library.edu; b@library.edu"]])
    path = write_ods(tmp_path / "s.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "delete"]]), settings)
    sheet = read_workbook(path)
    assert sheet.mode is Mode.APPLY and sheet.email_to == ["a@library.edu", "b@library.edu"]
    hidden = table("Settings", [["Mode", "Apply"]], attrs='table:style-name="ta2"')
    path = write_ods(tmp_path / "h.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "delete"]]), hidden,
                     auto_styles=HIDDEN_TABLE_STYLE)
    sheet = read_workbook(path)
    assert sheet.mode is not Mode.APPLY
    assert sheet.problems[0].message.startswith("Mode says Apply, but the sheet 'Settings' is hidden")


def test_the_action_sheet_is_the_one_with_an_action_column(tmp_path):
    path = write_ods(tmp_path / "p.ods", table("Notes", [["Anything"]]), table("Mine", [["MMS ID", "Action"], [MMS_1, "delete"]]))
    assert read_workbook(path).sheet_name == "Mine"
    path = write_ods(tmp_path / "n.ods", table("Notes", [["Anything"]]))
    assert "No sheet in n.ods has a column headed Action (looked at: 'Notes')" in only_message(path)


# === repeated rows and columns stay bounded ====================================================

def test_a_million_repeated_empty_rows_are_counted_not_held(tmp_path):
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "delete"]]),
                     table("Other", [["x"]]), table("Settings", [["Mode", "Preview"]]))
    tracemalloc.start()
    started = time.perf_counter()
    try:
        sheet = read_workbook(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 20 * 1024 * 1024
    assert [r.number for r in sheet.rows] == [2]


def test_a_repeated_row_with_values_is_expanded_within_the_limits(tmp_path, monkeypatch):
    repeated = row([MMS_1, "keep"], 'table:number-rows-repeated="3"')
    path = write_ods(tmp_path / "r.ods", table("P2E", [["MMS ID", "Action"], repeated]))
    assert [(r.number, r.mms_id) for r in read_workbook(path).rows] == [(2, MMS_1), (3, MMS_1), (4, MMS_1)]
    monkeypatch.setattr(limits, "MAX_ROWS", 100)
    many = row([MMS_1, "keep"], 'table:number-rows-repeated="1000000"')
    path = write_ods(tmp_path / "m.ods", table("P2E", [["MMS ID", "Action"], many], rest=False))
    assert only_message(path).startswith("The sheet 'P2E' has more than 100 rows to process")


def test_rows_and_cells_past_the_grid_are_refused(tmp_path):
    past = table("P2E", [["MMS ID", "Action"], REST.format(n=1_048_575), [MMS_1, "delete"]], rest=False)
    assert only_message(write_ods(tmp_path / "r.ods", past)).startswith("Row 1,048,577 is past Excel's last row")
    wide = row(['<table:table-cell table:number-columns-repeated="16383"/>', "x", "y"])
    path = write_ods(tmp_path / "c.ods", table("P2E", [["MMS ID", "Action"], wide]))
    assert only_message(path).startswith("Row 2 has a cell at column 16,385, outside Excel's grid")


def test_the_size_limits_hold(tmp_path, monkeypatch):
    rows = [["MMS ID", "Action"]] + [[MMS_1, "keep"]] * 30
    monkeypatch.setattr(limits, "MAX_CELLS", 50)
    assert only_message(write_ods(tmp_path / "c.ods", table("P2E", rows))).startswith(
        "The sheet 'P2E' is too big to process in one file: 25 rows by 2 columns")
    monkeypatch.setattr(limits, "MAX_CELLS", 10)
    assert only_message(write_ods(tmp_path / "e.ods", table("P2E", rows))).startswith(
        "A sheet in e.ods is too big to process in one file")
    monkeypatch.setattr(limits, "MAX_CELLS", 3_000_000)
    monkeypatch.setattr(limits, "MAX_ROW_ELEMENTS", 5)
    assert only_message(write_ods(tmp_path / "d.ods", table("P2E", [["MMS ID", "Action", "a", "b"]]))).startswith(
        "The file d.ods is damaged")
    monkeypatch.setattr(limits, "MAX_ROW_ELEMENTS", 200_000)
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 2000)
    assert only_message(write_ods(tmp_path / "t.ods", table("P2E", rows))).startswith(
        "The file t.ods holds more text than the processor reads in one file")


def test_a_cell_longer_than_excel_allows_is_refused_before_it_is_held(tmp_path):
    spaces = '<table:table-cell office:value-type="string"><text:p><text:s text:c="1000000000"/></text:p></table:table-cell>'
    path = write_ods(tmp_path / "s.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, spaces]]))
    assert only_message(path).startswith("This cell holds 1,000,000,000 characters, more than Excel allows")
    path = write_ods(tmp_path / "l.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "d" * 40_000]]))
    assert only_message(path).startswith("This cell holds 40,000 characters")


# === an unsafe, damaged or oversized package ===================================================

def test_unsafe_damaged_truncated_and_bomb_packages_are_refused(tmp_path):
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]><office:document-content ' + NS + '>&a;</office:document-content>'
    assert "XML features the processor refuses" in only_message(write_ods(tmp_path / "u.ods", content=bomb))
    assert only_message(write_ods(tmp_path / "d.ods", content="<office:document-content " + NS + "><oops>")
                        ).startswith("The file d.ods is damaged")
    whole = write_ods(tmp_path / "whole.ods").read_bytes()
    (tmp_path / "t.ods").write_bytes(whole[: len(whole) // 2])
    assert only_message(tmp_path / "t.ods").startswith("The file t.ods is incomplete")
    path = write_ods(tmp_path / "b.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "delete " + " " * 3_000_000]]))
    assert "unpacks" in only_message(path, max_file_mb=0.05) or "too big" in only_message(path, max_file_mb=0.05)


def test_an_ods_renamed_xlsx_is_read_as_ods_and_the_reverse(tmp_path):
    ods = write_ods(tmp_path / "looks like.xlsx")
    assert read_workbook(ods).rows[0].mms_id == MMS_1
    xlsx = good_workbook(tmp_path / "looks like.ods")
    assert read_workbook(xlsx).rows[0].mms_id == MMS_1


# === LibreOffice itself, and the whole pipeline ================================================

def test_a_workbook_saved_by_libreoffice_as_ods_reads_as_its_xlsx_does(tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    xlsx = tmp_path / "p2e.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    for values in [["MMS ID", "Portfolio ID", "Action"], [MMS_1, 53123456780005899, "delete"],
                   [MMS_2, "53123456790005899", "keep"], [9917042712205899, None, "delete"]]:
        ws.append(values)
    ws.row_dimensions[3].hidden = True  # a hidden row marked keep is fine
    wb.create_sheet("Settings").append(["Mode", "Preview"])
    wb.save(xlsx)
    ws.row_dimensions[3].hidden = False
    ws.row_dimensions[4].hidden = True  # a hidden row that asks for a delete
    wb.save(tmp_path / "hidden.xlsx")
    out = tmp_path / "out"
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to",
                    "ods", "--outdir", str(out), str(xlsx), str(tmp_path / "hidden.xlsx")],
                   check=True, capture_output=True, timeout=180)
    assert only_message(out / "hidden.ods") == only_message(tmp_path / "hidden.xlsx")
    assert only_message(out / "hidden.ods").startswith("1 hidden row (row 4) asks for a change in Alma")
    ods = out / "p2e.ods"
    with zipfile.ZipFile(ods) as z:
        assert z.infolist()[0].filename == "mimetype"
    from_ods, from_xlsx = read_workbook(ods), read_workbook(xlsx)
    assert [(r.number, r.mms_id, r.portfolio_id, r.action) for r in from_ods.rows] == \
        [(r.number, r.mms_id, r.portfolio_id, r.action) for r in from_xlsx.rows]
    assert [p.message for p in from_ods.problems] == [p.message for p in from_xlsx.problems]
    assert from_ods.problems  # the IDs stored as numbers, as in the .xlsx
    assert from_ods.mode is Mode.PREVIEW


def xlsx_to_ods(xlsx, ods):
    """Every sheet of an .xlsx as an .ods table, text as text and numbers as numbers (values only)."""
    wb = openpyxl.load_workbook(xlsx, read_only=True)
    tables = [table(ws.title, [list(values) for values in ws.iter_rows(values_only=True)]) for ws in wb.worksheets]
    wb.close()
    return write_ods(ods, *tables)


def test_the_pipeline_processes_an_ods_file_against_the_sandbox(start_sandbox, settings_for, workbook_for):
    from p2e.pipeline import process_file
    from tests.conftest import results_rows

    sb, library = start_sandbox(rows=20)
    settings = settings_for(sb)
    xlsx = workbook_for(library)
    ods = xlsx_to_ods(xlsx, xlsx.with_suffix(".ods"))
    xlsx.unlink()

    outcome = process_file(ods, settings, stream=None)

    assert outcome.status == "processed"
    assert outcome.results_path.parent == settings.outbox_dir
    rows = results_rows(outcome.results_path)
    assert len(rows) == len(library.rows)
    state = sb.state()
    for expected, got in zip(library.rows, rows):
        assert got["Result"] == expected["expected_outcome"], (expected["scenario"], got["Details"])
        assert got["MMS ID"] == expected["mms_id"]
        if got["Result"] == "Done":
            assert expected["portfolio_id"] not in state["portfolios"]
        else:
            assert expected["portfolio_id"] in state["portfolios"]
    assert outcome.exit_code == 0


def test_a_table_inside_a_cell_is_refused_as_damaged(tmp_path):
    inner = f'<table:table-cell>{table("Inner", [["x"]], rest=False)}</table:table-cell>'
    path = write_ods(tmp_path / "n.ods", table("P2E", [["MMS ID", "Action"], [MMS_1, "delete", inner]]))
    assert only_message(path).startswith("The file n.ods is damaged")


def test_reading_leaves_no_cycles_behind(tmp_path):
    # intake runs with the cyclic garbage collector off: anything the reader leaves in a cycle stays in memory.
    # Only the reader's own leftovers count (other tests' threads may make garbage meanwhile): functions,
    # frames and objects of p2e.intake found in cycles.
    note = '<table:table-cell office:value-type="string"><text:p>a<text:span>b</text:span></text:p></table:table-cell>'
    path = write_ods(tmp_path / "p2e.ods", table("P2E", [["MMS ID", "Action", "Note"]] +
                                                 [[MMS_1, "keep", note, None]] * 2000))
    gc.collect()
    assert len(read_workbook(path).rows) == 2000
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = [obj for obj in gc.garbage if _from_intake(obj)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert len(left) < 10, left[:5]


def _from_intake(obj) -> bool:
    code = getattr(obj, "f_code", None) or getattr(obj, "__code__", None)
    if code is not None:
        return "/p2e/intake/" in code.co_filename.replace("\\", "/")
    return type(obj).__module__.startswith("p2e.intake")
