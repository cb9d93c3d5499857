"""The workbooks and lists of a restore, and reading back a results workbook this processor wrote."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..names import unique_path
from .workbook import formats, new_workbook


@contextmanager
def _our_sheet(path: Path, sheet_name: str) -> Iterator[Any]:
    """One sheet of a results workbook this processor wrote, opened read-only; a plain ValueError otherwise."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise ValueError(f"{Path(path).name} is not a results workbook that can be opened ({exc}).") from None
    try:
        if sheet_name not in workbook.sheetnames:
            raise ValueError(f"{Path(path).name} has no {sheet_name} sheet: is it a results workbook from this "
                             "processor?")
        yield workbook[sheet_name]
    finally:
        workbook.close()


def read_results(path: Path) -> list[dict]:
    """The rows of a results workbook's Results sheet, as dicts keyed by header (``_row`` = sheet row)."""
    with _our_sheet(path, "Results") as sheet:
        rows = sheet.iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(rows, ())]
        found = []
        for number, values in enumerate(rows, start=2):
            record = {h: v for h, v in zip(header, values)}
            record["_row"] = number
            found.append(record)
        return found


def read_summary(path: Path) -> dict[str, str]:
    """The facts on a results workbook's Summary sheet (File, Mode, Run ID, ...), label -> text."""
    with _our_sheet(path, "Summary") as sheet:
        facts: dict[str, str] = {}
        for values in sheet.iter_rows(min_row=1, max_row=40, max_col=2, values_only=True):
            if values and isinstance(values[0], str) and len(values) > 1 and values[1] is not None:
                facts.setdefault(values[0], str(values[1]))
        return facts


def write_restore_results(path: Path, source_name: str, restored: list) -> Path:
    """One row per restored row: old and new IDs, result, details."""
    workbook = new_workbook(path)
    try:
        fmt = formats(workbook)
        ws = workbook.add_worksheet("Restore")
        headers = ["Row", "Old MMS ID", "New MMS ID", "Old portfolio ID", "New portfolio ID", "PO line", "Result",
                   "Details"]
        for j, header in enumerate(headers):
            ws.write_string(0, j, header, fmt["header"])
        for i, r in enumerate(restored, start=1):
            ws.write_number(i, 0, r.row)
            for j, value in enumerate((r.old_mms_id, r.new_mms_id, r.old_portfolio_id, r.new_portfolio_id, r.po_line,
                                       r.result, r.details), start=1):
                ws.write_string(i, j, str(value or ""), fmt["text"])
        ws.set_column(1, 5, 21)
        ws.set_column(6, 6, 18)
        ws.set_column(7, 7, 90)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(restored), 1), len(headers) - 1)
        ws.write_string(len(restored) + 3, 0, f"Restored from the results of {source_name}.")
    finally:
        workbook.close()
    return path


def write_id_lists(folder: Path, stem: str, ids: list[str], per_file: int) -> list[Path]:
    """Plain text lists of IDs, one per line, at most ``per_file`` per file (Alma's MDR limit)."""
    ids = [str(i) for i in dict.fromkeys(ids) if i]
    paths = []
    for part, start in enumerate(range(0, len(ids), per_file), start=1):
        suffix = f" {part}" if len(ids) > per_file else ""
        path = unique_path(folder, f"{stem}{suffix}", ".txt")
        path.write_text("\n".join(ids[start:start + per_file]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
