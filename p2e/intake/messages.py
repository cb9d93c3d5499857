"""Every message a whole file can be refused with, and :class:`FileRejected`, which carries them.

docs/spreadsheet.md lists the messages for staff. :func:`reject` builds the exception from a key:

>>> exc = reject("empty", name="p2e.xlsx")
>>> str(exc).startswith("The file p2e.xlsx is empty (0 bytes).")
True
>>> list_some([str(n) for n in range(1, 12)])
'1, 2, 3, 4, 5, 6, 7, 8 and 3 more'
"""
from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

from ..model import Problem


class FileRejected(Exception):
    """The file cannot be read at all. ``problems`` says why (at least one); ``str()`` is a plain summary."""

    def __init__(self, problems: Problem | str | list[Problem], summary: str | None = None):
        given: list[Problem | str] = [problems] if isinstance(problems, (Problem, str)) else list(problems)
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem(p) for p in given]
        if not self.problems:
            self.problems = [Problem(MESSAGES["unreadable"])]
        if summary is None:
            first = self.problems[0]
            summary = str(first)
            if len(self.problems) > 1:
                summary += f" (and {len(self.problems) - 1} more problem{'s' if len(self.problems) > 2 else ''})"
        super().__init__(summary)


# Every message a whole file can be refused with. docs/spreadsheet.md lists them for staff.
MESSAGES = {
    "missing": "The file {name} is no longer in the folder. If you moved or renamed it, put it back and wait for the next run.",
    "folder": "{name} is a folder, not a spreadsheet. Put the spreadsheet file itself in the folder.",
    "empty": "The file {name} is empty (0 bytes). It may still have been copying when it was read, or it was not saved properly: open it in Excel, save it again, and put it back in the folder.",
    "too_big": "The file {name} is {size:.1f} MB, over the limit of {limit:g} MB. Split the rows into several smaller files and put them in the folder one at a time.",
    "too_big_unpacked": "The file {name} unpacks to {size:.0f} MB of data, over the limit of {limit:g} MB. Split the rows into several smaller files and put them in the folder one at a time.",
    "html": "The file {name} is a web page (an HTML table) with an {suffix} name, not an Excel workbook. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "xml2003": "The file {name} is an Excel 2003 XML spreadsheet, which the processor cannot read. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "text_as_xls": "The file {name} is a text export with an .xls name, not an Excel workbook. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "other_kind": "The file {name} is {kind}, not a spreadsheet, although its name ends in {suffix}. Put the spreadsheet itself in the folder: in Excel, save it as 'Excel Workbook (.xlsx)'.",
    "xls_damaged": "The file {name} is an old Excel 97-2003 workbook (.xls) that cannot be read: it is damaged, incomplete or not really a workbook. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "xlsb": "The file {name} is an Excel Binary Workbook (.xlsb), which the processor cannot read. Open it in Excel, choose File > Save As, pick 'Excel Workbook (.xlsx)', and put the .xlsx file in the folder.",
    "numbers": "The file {name} is an Apple Numbers file, which the processor cannot read. In Numbers choose File > Export To > Excel, and put the .xlsx file in the folder.",
    "unsupported": "The file {name} is not a spreadsheet the processor reads: it reads .xlsx, .xlsm, .xls, .ods and .csv files. Save your spreadsheet as 'Excel Workbook (.xlsx)' and put that file in the folder.",
    "encrypted": "The file {name} is protected with a password, so it cannot be read. Open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with Password, clear the password, OK), save it, and put it back in the folder.",
    "not_a_workbook": "The file {name} is not a readable Excel workbook, although its name ends in {suffix}: it may be damaged, or another kind of file renamed. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "truncated": "The file {name} is incomplete: it was probably still being copied into the folder when it was read. Wait until the copy has finished and put it in the folder again; if this keeps happening, open it in Excel, save it again, and put it back.",
    "no_action_sheet": "No sheet in {name} has a column headed Action (looked at: {sheets}). Add a column headed Action next to your P2E columns and write delete, relink or keep in it for each row, or copy your rows into the template.",
    "several_action_sheets": "More than one sheet in {name} has an Action column ({sheets}), so the processor cannot tell which one to use. Keep the Action column on one sheet only (delete the other copies or rename their Action heading) and put the file back.",
    "merged_header": "The header row (row {row}) has merged cells ({ranges}). Unmerge them (select the row, then Home > Merge & Center > Unmerge Cells) so that every column has its own heading, and put the file back.",
    "merged_data": "Some cells below the header are merged ({ranges}); only the first cell of a merged block holds a value, so the other rows would look empty. Unmerge them (select the sheet, then Home > Merge & Center > Unmerge Cells), fill in every row, and put the file back.",
    "hidden_rows": "{count} hidden row{s} ({rows}) ask{verb_s} for a change in Alma (delete or relink). Hidden rows would be processed without anyone seeing them: unhide all rows (select the whole sheet, right-click a row number, Unhide; clear any filter), check them, and put the file back. Hidden rows marked keep, or with an empty Action cell, are fine.",
    "hidden_column": "The Action column (column {column}) is hidden, and {count} row{s} in it ask{verb_s} for a change in Alma ({rows}). A hidden column would be processed without anyone seeing it: unhide it (select the columns either side of it, right-click a column letter, Unhide), check it, and put the file back.",
    "hidden_column_used": "The {heading} column (column {column}) is hidden, and {count} row{s} that change{verb_s} Alma depend{verb_s} on it ({rows}). A hidden column would be processed without anyone seeing it: unhide it (select the columns either side of it, right-click a column letter, Unhide), check it, and put the file back.",
    "hidden_sheet": "The sheet '{sheet}', which holds the Action column, is hidden, and {count} row{s} on it ask{verb_s} for a change in Alma ({rows}). A hidden sheet would be processed without anyone seeing it: unhide it (right-click any sheet tab, Unhide, pick '{sheet}'), check it, and put the file back.",
    "very_hidden_sheet": "The sheet '{sheet}', which holds the Action column, is very hidden (Excel's Unhide menu does not show it), and {count} row{s} on it ask{verb_s} for a change in Alma ({rows}). A hidden sheet would be processed without anyone seeing it: the file was probably made by a program or a macro, so ask whoever made it for a file with the sheet visible, or copy the rows you mean to change into the template.",
    "header_too_far": "The header row (the row with the Action heading) must be in the first {limit} rows of the sheet; in sheet '{sheet}' it is on row {row}. Delete some of the rows above it (title rows, notes, blank rows) so that the header is within the first {limit} rows, and put the file back.",
    "cell_too_long": "This cell holds {length:,} characters, more than Excel allows in a cell (32,767), so the file was not made by Excel or is damaged. Shorten the cell (or clear it), save the file in Excel as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "run_too_long": "The file {name} holds more text in one cell than Excel allows (32,767 characters), so it was not made by Excel or is damaged. Find that cell (it may be on another sheet), shorten or clear it, save the file as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "too_much_text": "The file {name} holds more text than the processor reads in one file (about {limit_mb:,} MB). Split the rows into several smaller files (and delete columns you do not need), and put them in the folder one at a time.",
    "too_many_rows": "The sheet '{sheet}' has more than {limit:,} rows to process, more than the processor takes in one file. Split the rows into several smaller files and put them in the folder one at a time.",
    "too_many_cells": "The sheet '{sheet}' is too big to process in one file: {rows:,} rows by {columns:,} columns (its rightmost cell is {ref}), over the limit of {limit:,} cells. Split the rows into several smaller files; if the sheet should not be that wide, clear the stray cells far to the right (the rightmost is {ref}: select the empty columns after your last one, right-click, Delete), and put the file back.",
    "outside_grid": "Row {row_number:,} has a cell at {ref}, outside Excel's grid (Excel's last column is XFD and its last row is 1,048,576), so the file was not made by Excel or is damaged. Open it in Excel (let Excel repair it if it offers to), save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "row_past_grid": "Row {row_number:,} is past Excel's last row (1,048,576), so the file was not made by Excel or is damaged. Open it in Excel (let Excel repair it if it offers to), save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "sheet_too_big": "A sheet in {name} is too big to process in one file (more than {limit:,} cells, or more rows than Excel has). Split the rows into several smaller files and put them in the folder one at a time; if the sheet should not be that big, select the empty rows below your data and the empty columns to its right, right-click, Delete, and save the file again.",
    "damaged_cell": "The file {name} is damaged: this cell {what}. Open it in Excel (let Excel repair it if it offers to), check the rows, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "formulas": "{count} cell{s} in the Action or ID columns {hold} a formula that has never been calculated ({cells}), so the processor cannot see its value. The file was probably saved by a program other than Excel: open it in Excel and save it again, or copy those columns and use Paste Special > Values.",
    "damaged": "The file {name} is damaged: part of it cannot be read. Open it in Excel (let Excel repair it if it offers to), check the rows, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "unsafe": "The file {name} contains XML features the processor refuses to read for safety (entity or document type declarations), which Excel never writes. Open it in Excel, save it as 'Excel Workbook (.xlsx)', and put it back in the folder.",
    "unreadable": "The processor could not read the file {name}. Open it in Excel, save it again as 'Excel Workbook (.xlsx)', and put it back in the folder. If this keeps happening, send the file to the team that runs the processor.",
    "csv_encoding": "The file {name} is not a text file the processor can read (it is not in UTF-8 or Windows text encoding). Open it in Excel and save it as 'Excel Workbook (.xlsx)' or 'CSV UTF-8', and put that file in the folder.",
}


def reject(key: str, *, problem_kw: dict[str, Any] | None = None, **values: Any) -> FileRejected:
    return FileRejected(Problem(MESSAGES[key].format(**values), **(problem_kw or {})))


def list_some(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown


@contextmanager
def plain_refusals(name: str) -> Iterator[None]:
    """Reading a workbook package: a cut-short, damaged or unsafe one is refused in plain words, never a traceback."""
    from defusedxml import DefusedXmlException

    from .expat import UnsafeXml
    from .xmlstream import RunTooLong

    try:
        yield
    except RunTooLong:
        raise reject("run_too_long", name=name) from None
    except (zipfile.BadZipFile, EOFError, zlib.error):
        raise reject("truncated", name=name) from None
    except (ElementTree.ParseError, expat.ExpatError):
        raise reject("damaged", name=name) from None
    except (DefusedXmlException, UnsafeXml):
        raise reject("unsafe", name=name) from None
