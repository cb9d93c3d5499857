"""The entry point, :func:`read_workbook`: one staff file in, one :class:`~p2e.model.Sheet` out.

Whatever the file turns out to be (:mod:`p2e.intake.sniff`), it is read as a workbook
(:mod:`p2e.intake.xlsx`), an old Excel workbook (:mod:`p2e.intake.xls`), an OpenDocument spreadsheet (:mod:`p2e.intake.ods`) or a CSV file
(:mod:`p2e.intake.csv_reader`), or refused with one plain :class:`~p2e.intake.messages.FileRejected`.
Nothing else escapes.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

from ..collector import collector_paused
from ..model import Sheet, shorten
from . import csv_reader, ods, xls, xlsx
from . import rows as rows_module
from .messages import FileRejected, reject
from .sniff import sniff

log = logging.getLogger("p2e.intake")


def read_workbook(path: Path, *, max_file_mb: float = 50.0, compact: bool = False) -> Sheet:
    """Read the action sheet of a staff workbook (``.xlsx``, ``.xlsm``, ``.xls``, ``.ods`` or ``.csv``).

    Raises :class:`FileRejected` when the file cannot be read at all; cell-level
    problems (a rounded ID, a date in an ID column) go to ``sheet.problems``.

    With ``compact`` (the pipeline's reading) each row's original cells are kept compressed as soon as
    the row is made (:mod:`p2e.intake.originals`): ``row.values`` is empty, and
    ``sheet.values_of(row)`` gives them.
    """
    path = Path(path)
    token = rows_module.COMPACT.set(compact)
    try:
        with collector_paused(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kind = sniff(path, max_file_mb)
            if kind == "csv":
                return csv_reader.read_csv(path)
            if kind == "ods":
                return ods.read_ods(path, max_file_mb)
            if kind == "xls":
                return xls.read_xls(path)
            return xlsx.read_xlsx(path, max_file_mb)
    except FileRejected:
        raise
    except Exception as exc:  # any surprise becomes one plain message; the detail goes to the log
        # One line (never a traceback: it would reach the console of `run` and `validate`), with the
        # exception's text quoted short because it may hold a cell's value; the traceback at debug level.
        log.warning("could not read %s: %s: %s", path.name, type(exc).__name__, shorten(str(exc), 200))
        log.debug("could not read %s", path, exc_info=True)
        raise reject("unreadable", name=path.name) from None
    finally:
        rows_module.COMPACT.reset(token)
