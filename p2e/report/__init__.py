"""Report: the workbooks staff get back. xlsxwriter only; nothing here knows about HTTP.

    workbook.py       what every workbook we write shares: text stays text, rows stream to disk
    results.py        the results workbook: Summary, Results, Needs attention
    rejection.py      the rejection workbook: every problem, by sheet, row and column
    restore_books.py  a restore's workbook and ID lists; reading back a results workbook we wrote

>>> from p2e.report import write_results, write_rejection   # doctest: +SKIP
"""
from .rejection import write_rejection
from .restore_books import read_results, read_summary, write_id_lists, write_restore_results
from .results import RunInfo, counts, write_results
from .workbook import RESULT_COLUMNS

__all__ = ["RESULT_COLUMNS", "RunInfo", "counts", "read_results", "read_summary", "write_id_lists",
           "write_rejection", "write_restore_results", "write_results"]
