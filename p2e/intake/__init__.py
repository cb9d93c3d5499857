"""Intake, the first stage: read the staff's annotated P2E spreadsheet into a :class:`~p2e.model.Sheet`.

The file need not be our template: intake reads ``.xlsx``/``.xlsm`` and ``.ods`` (its own streaming
readers over the public ``zipfile`` and XML APIs), the old ``.xls`` (xlrd) and ``.csv`` (with or without a UTF-8 byte-order mark), picks
the sheet that has an Action column, finds the header row (it need not be row 1) and the columns
by name, forgiving case, spacing, underscores, punctuation and the usual synonyms, and keeps every
original cell of every non-blank row so the results workbook can hand it back (compressed, with
``compact=True``: see ``originals.py``).

IDs are cleaned to text (see :mod:`p2e.ids`); an ID Excel has damaged becomes a
:class:`~p2e.model.Problem` in ``sheet.problems``. A file that cannot be read at all
(not a workbook, password-protected, still being copied, hidden rows, ...) raises
:class:`FileRejected` with one plain message. Nothing else escapes ``read_workbook``.

    sheet = read_workbook(Path("inbox/p2e-annotated.xlsx"))
    for row in sheet.rows:
        print(row.number, row.action, row.mms_id)

One job per file, in the order a file goes through them:

========================  =====================================================================
``read.py``               :func:`read_workbook`, the entry point
``sniff.py``              what the file really is; refusing what is not a workbook or CSV file
``messages.py``           every message a whole file is refused with; :class:`FileRejected`
``limits.py``             Excel's limits and ours; the text budget of one workbook
``parts.py``              bounding a workbook's XML parts before they are read
``package.py``            opening the package: sheets and states, date styles
``xmlstream.py``          safe streaming XML for the small parts (defusedxml)
``expat.py``              the safe push parser for sheets and shared strings
``strict.py``             rows and shared strings in the plain shape Excel writes, matched whole (fast)
``shared_strings.py``     the shared strings: the plain ones matched, expat's handlers for the rest
``worksheet.py``          streaming one sheet: its plain rows matched, expat for the rest, merged ranges
``sheet_events.py``       expat's handlers for a sheet: any row shape, hidden columns, merged ranges
``cells.py``              a row's cells to values as Excel shows them (numbers stay numbers)
``xlsx.py``               reading an .xlsx/.xlsm workbook: its parts bounded, then its sheets
``ods.py``                reading an .ods spreadsheet (LibreOffice): the package bounded, its tables listed
``ods_table.py``          streaming one .ods table's rows, hidden rows and columns, merged cells
``ods_cells.py``          one .ods cell's value: number, text, date, time or true/false
``xls.py``                reading an old Excel 97-2003 workbook (.xls) with xlrd
``book.py``               choosing the action sheet of any workbook; the Settings sheet beside it
``csv_reader.py``         reading a CSV file
``headers.py``            header synonyms and finding the header row
``raw.py``                one sheet as plain rows
``originals.py``          rows' original cells kept compressed (the pipeline's reading) until the results
``rows.py``               rows to a Sheet; hidden things, merged cells, uncalculated formulas
``settings_sheet.py``     the template's Settings sheet (Mode, Email results to)
``libraries.py``          the start-up check of the libraries the reader depends on
========================  =====================================================================
"""
from __future__ import annotations

from .headers import SYNONYMS, field_for_header, normalise_header
from .libraries import LibraryProblem, check_libraries
from .messages import MESSAGES, FileRejected
from .read import read_workbook
from .rows import parse_action

__all__ = ["FileRejected", "LibraryProblem", "MESSAGES", "SYNONYMS", "check_libraries", "field_for_header",
           "normalise_header", "parse_action", "read_workbook"]
