"""Benchmark: intake + validation of a 100,000-row annotated P2E workbook.

    .venv/bin/python benchmarks/bench_intake.py [ROWS] [--tracemalloc]
    .venv/bin/python benchmarks/bench_intake.py --hostile

``--hostile`` builds the outside probe's hostile workbooks (small on disk, huge unpacked: see
issue 10, point 9) plus the largest files intake accepts, reads each in a fresh process and
prints the message, the seconds and the process's peak resident memory (VmHWM). Target: every
file under MAX_FILE_MB refused or read under 500 MB.

Builds the workbook (xlsxwriter, constant memory; 14 columns like a CARLI P2E report plus the
staff columns) in a temporary folder, then times read_workbook + validate and prints the
seconds, the CPU seconds (less sensitive to other work on the machine) and the peak memory.
Target (issue 11): under 10 s and under 250 MB peak.

Two memory figures: the peak of Python allocations during intake + validation (tracemalloc,
measured in a second run because tracing slows Python down), and the process's peak resident
size (VmHWM on Linux: ru_maxrss survives exec there, so it would show the workbook build's
memory; ru_maxrss elsewhere), which includes the interpreter and the libraries.
"""
from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from p2e.config import Settings  # noqa: E402
from p2e.intake import read_workbook  # noqa: E402
from p2e.validate import validate  # noqa: E402

HEADER = ["BIB_ID", "Title", "ISSN/ISBN", "Location", "Type", "Provider", "856 URL", "PO number",
          "MMS ID", "Portfolio ID", "Action", "Bib handling", "CZ MMS ID", "Staff note"]


def build(path: Path, rows: int) -> None:
    rnd = random.Random(42)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("P2E")
    ws.write_string(0, 0, "CARLI P2E report (benchmark)")
    for col, header in enumerate(HEADER):
        ws.write_string(2, col, header)
    for i in range(rows):
        r = i + 3
        bib = 100000 + i
        action = rnd.choices(("delete", "relink", "keep"), (70, 10, 20))[0]
        ws.write_number(r, 0, bib)                                  # Voyager bib ID typed as a number
        ws.write_string(r, 1, f"Title number {i} : a study of {rnd.randint(1, 10**6)}")
        ws.write_string(r, 2, f"{rnd.randint(1000, 9999)}-{rnd.randint(1000, 9999)}")
        ws.write_string(r, 3, "UIU e-resources")
        ws.write_string(r, 4, "Portfolio")
        ws.write_string(r, 5, rnd.choice(("Gale", "Alexander Street", "ProQuest", "EBSCO")))
        ws.write_string(r, 6, f"http://provider.example.com/record/{bib}")
        if i % 10 == 0:
            ws.write_string(r, 7, f"PO-{bib}")
        ws.write_string(r, 8, f"99{bib}12205899")                    # IDs as text
        ws.write_string(r, 9, f"53{bib:09d}0005899")
        ws.write_string(r, 10, action)
        ws.write_string(r, 11, rnd.choice(("delete", "suppress", "")) or "delete")
        if action == "relink":
            ws.write_string(r, 12, f"99{900000000 + i}5899")
        if i % 7 == 0:
            ws.write_string(r, 13, "checked in Primo")
    wb.close()


def run(path: Path):
    sheet = read_workbook(path, max_file_mb=200)
    problems = validate(sheet, Settings())
    return sheet, problems


def measure(path: Path, trace: bool) -> None:
    """Run in a fresh process so ru_maxrss is intake's alone, not the workbook build's."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    sheet, problems = run(path)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024
    status = Path("/proc/self/status")
    if status.exists():  # Linux keeps ru_maxrss across exec, so it may be the parent's (the workbook build)
        rss_mb = int(next(line.split()[1] for line in status.read_text().splitlines()
                          if line.startswith("VmHWM"))) / 1024
    print(f"intake + validation: {seconds:.2f} s ({cpu:.2f} s of CPU) for {len(sheet.rows):,} rows, "
          f"{len(problems)} problems")
    print(f"load average when it ended (other work on the machine): {os.getloadavg()[0]:.2f}")
    print(f"peak resident memory of the process (VmHWM on Linux, else ru_maxrss; interpreter included): {rss_mb:.0f} MB")
    print(f"target (< 10 s, < 250 MB): {'met' if seconds < 10 and rss_mb < 250 else 'NOT met'}")
    del sheet, problems
    if trace:
        tracemalloc.start()
        run(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak Python allocations during intake + validation (tracemalloc): {peak / 1024 / 1024:.0f} MB")
    else:
        print("(add --tracemalloc for the peak of Python allocations; tracing makes that run slow)")


NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _raw_workbook(path: Path, write_rows, strings=(), big_string_chars: int = 0) -> None:
    """A real xlsxwriter workbook whose sheet XML and shared strings are streamed in by hand."""
    import zipfile

    base = path.with_suffix(".base.xlsx")
    wb = xlsxwriter.Workbook(str(base))
    wb.add_worksheet("P2E").write_string(0, 0, "x")
    wb.close()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info in zin.infolist():
            if info.filename not in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                zout.writestr(info.filename, zin.read(info.filename))
        with zout.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(f'<worksheet xmlns="{NS}"><sheetData>'.encode())
            write_rows(out)
            out.write(b"</sheetData></worksheet>")
        with zout.open("xl/sharedStrings.xml", "w", force_zip64=True) as out:
            out.write(f'<sst xmlns="{NS}">'.encode())
            for text in strings:
                out.write(f"<si><t>{text}</t></si>".encode())
            if big_string_chars:
                out.write(b"<si><t>")
                block = b"a" * (1 << 20)
                for _ in range(big_string_chars // len(block)):
                    out.write(block)
                out.write(b"</t></si>")
            out.write(b"</sst>")
    base.unlink()


def _header(out) -> None:
    out.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>MMS ID</t></is></c>'
              b'<c r="B1" t="inlineStr"><is><t>Action</t></is></c></row>')


def _many_cells(out) -> None:
    """1,048,576 rows x 16 cells, every cell the same shared string: ~4 MB on disk."""
    _header(out)
    cells = "".join(f'<c t="s"><v>0</v></c>' for _ in range(16))
    for r in range(2, 1_048_577):
        out.write(f'<row r="{r}">{cells}</row>'.encode())


def _stray_cell_every_row(out) -> None:
    """100,000 rows, each with a cell at XFD: padded, 1.6 billion cells."""
    _header(out)
    for r in range(2, 100_002):
        out.write(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="XFD{r}" t="s"><v>0</v></c></row>'.encode())


def _past_xfd(out) -> None:
    _header(out)
    out.write(b'<row r="2"><c r="ZZZZZZZ2"><v>1</v></c></row>')


def _unique_strings(out) -> None:
    """3,000,000 cells, each its own inline string (the most distinct text intake might hold)."""
    _header(out)
    for r in range(2, 150_002):
        cells = "".join(f'<c t="inlineStr"><is><t>{r:07d}-{c:02d}-some text</t></is></c>' for c in range(20))
        out.write(f'<row r="{r}">{cells}</row>'.encode())


def _tall(out) -> None:
    """990,000 rows of 3 cells: the row count, not the cells, is what costs memory."""
    _header(out)
    for r in range(2, 990_002):
        out.write(f'<row r="{r}"><c t="inlineStr"><is><t>99{r:014d}5899</t></is></c><c t="s"><v>0</v></c>'
                  f'<c><v>{r}.5</v></c></row>'.encode())


def _largest_accepted(out) -> None:
    """240,000 rows x 12 columns, 8 distinct texts and 3 distinct numbers per row: read, not refused."""
    _header(out)
    for r in range(2, 240_002):
        cells = f'<c t="inlineStr"><is><t>99{r:014d}5899</t></is></c><c t="s"><v>0</v></c>'
        cells += "".join(f'<c t="inlineStr"><is><t>{r:07d}x{c}</t></is></c>' for c in range(7))
        cells += "".join(f"<c><v>{r}.{c}5</v></c>" for c in range(3))
        out.write(f'<row r="{r}">{cells}</row>'.encode())


HOSTILE = [
    ("1M rows x 16 cells of one shared string", lambda p: _raw_workbook(p, _many_cells, ["x"])),
    ("one 1.15 GB shared string", lambda p: _raw_workbook(p, _header, big_string_chars=1150 * 1024 * 1024)),
    ("a cell reference past XFD", lambda p: _raw_workbook(p, _past_xfd)),
    ("100,000 rows with a stray cell at XFD", lambda p: _raw_workbook(p, _stray_cell_every_row, ["x"])),
    ("150,000 rows x 20 distinct inline strings", lambda p: _raw_workbook(p, _unique_strings)),
    ("990,000 rows x 3 cells", lambda p: _raw_workbook(p, _tall, ["keep"])),
    ("240,000 rows x 12 columns (the largest kind intake reads)", lambda p: _raw_workbook(p, _largest_accepted, ["delete"])),
]


def measure_hostile(path: Path) -> None:
    from p2e.intake import FileRejected

    t0 = time.perf_counter()
    try:
        sheet = read_workbook(path, max_file_mb=50)
        outcome = f"read: {len(sheet.rows):,} rows"
    except FileRejected as exc:
        outcome = "refused: " + str(exc)[:110]
    seconds = time.perf_counter() - t0
    status = Path("/proc/self/status").read_text()
    hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
    print(f"    {outcome}\n    {seconds:.1f} s, peak {int(hwm) // 1024} MB (VmHWM)")


def hostile() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, build_file in HOSTILE:
            path = Path(tmp) / "hostile.xlsx"
            build_file(path)
            print(f"{label} ({path.stat().st_size / 1024 / 1024:.1f} MB on disk):", flush=True)
            subprocess.run([sys.executable, __file__, "--measure-hostile", str(path)], check=True)
            path.unlink()


def main() -> None:
    if sys.argv[1:2] == ["--hostile"]:
        hostile()
        return
    if sys.argv[1:2] == ["--measure-hostile"]:
        measure_hostile(Path(sys.argv[2]))
        return
    if sys.argv[1:2] == ["--measure"]:
        measure(Path(sys.argv[2]), "--tracemalloc" in sys.argv)
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows = int(args[0]) if args else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.xlsx"
        t0 = time.perf_counter()
        build(path, rows)
        print(f"built {rows:,} rows x {len(HEADER)} columns in {time.perf_counter() - t0:.1f} s "
              f"({path.stat().st_size / 1024 / 1024:.1f} MB)")
        extra = ["--tracemalloc"] if "--tracemalloc" in sys.argv else []
        subprocess.run([sys.executable, __file__, "--measure", str(path), *extra], check=True)


if __name__ == "__main__":
    main()
