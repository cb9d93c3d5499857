"""Reading a .csv staff file: its encoding, its delimiter, and its rows within Excel's limits.

A CSV file has one sheet, named after the file; its rows go to :func:`p2e.intake.rows.build_sheet`
like a workbook's.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from ..model import Sheet, column_letter, shorten
from . import limits
from . import rows as rows_module
from .headers import find_header, header_too_far
from .limits import EXCEL_MAX_CELL_CHARS, EXCEL_MAX_COLUMN, EXCEL_MAX_ROW
from .messages import reject
from .raw import RawRow


def read_csv(path: Path) -> Sheet:
    """The action sheet of a CSV file: UTF-8 (with or without a byte-order mark) or Windows text."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes almost anything
        raise reject("csv_encoding", name=path.name)
    if "\x00" in text:
        raise reject("csv_encoding", name=path.name)
    sample = text[:65536]
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    sheet_name = path.stem

    def rows() -> Iterator[RawRow]:
        number = 0
        try:
            for number, values in enumerate(reader, start=1):
                if number > EXCEL_MAX_ROW:
                    raise reject("row_past_grid", row_number=number, problem_kw={"sheet": sheet_name})
                if len(values) > EXCEL_MAX_COLUMN:
                    raise reject("outside_grid", row_number=number, ref=f"column {len(values):,}",
                                  problem_kw={"sheet": sheet_name, "row": number})
                for col, value in enumerate(values):
                    if len(value) > EXCEL_MAX_CELL_CHARS:
                        raise reject("cell_too_long", length=len(value),
                                      problem_kw={"sheet": sheet_name, "row": number, "column": column_letter(col)})
                yield RawRow(number, [v if v != "" else None for v in values])
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise reject("run_too_long", name=path.name) from None
            raise reject("damaged", name=path.name, problem_kw={"row": number + 1}) from None

    header = find_header(rows())
    records_only = False
    if header is None:  # no Action heading: a raw P2E report is a suggestion request (p2e/suggest)
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        records_only = find_header(rows(), records_only=True) is not None
    if header is None and not records_only:
        reader = csv.reader(io.StringIO(text, newline=""), dialect)
        further = find_header(rows(), limits.HEADER_REPORT_ROWS)
        if further is not None:
            raise header_too_far(sheet_name, further.number)
        raise reject("no_action_sheet", name=path.name, sheets=f"'{shorten(sheet_name)}'")
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    return rows_module.build_sheet(path, sheet_name, rows(), merged=lambda: [], records_only=records_only)
