"""Finding the header row and the columns by name: the synonyms staff use for each heading.

Headings are matched forgiving case, spacing, underscores, punctuation and a note in brackets:

>>> field_for_header("Voyager_BIB ID "), field_for_header("Action (delete/relink/keep)")
('voyager_bib_id', 'action')
>>> header_fields(["Title", "MMS ID", "Action", "mms"])
{'mms_id': [1, 3], 'action': [2]}
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from ..model import shorten
from . import limits
from .messages import FileRejected, reject
from .raw import RawRow

# Header synonyms, normalised (lower case, letters and digits only). The first name of each
# list is the template's own header.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "action": ("action", "actions", "staffaction", "p2eaction"),
    "voyager_bib_id": ("voyagerbibid", "bibid", "voyagerbib", "voyagerid", "voyagerbibnumber", "bibnumber", "ilsbibid"),
    "mms_id": ("mmsid", "mms", "almammsid", "p2emmsid", "bibmmsid", "sourcemmsid", "p2ebibmmsid"),
    "portfolio_id": ("portfolioid", "pid", "p2eportfolioid", "sourceportfolioid", "electronicportfolioid"),
    "target_mms_id": ("targetmmsid", "czmmsid", "keepmmsid", "cztargetmmsid", "targetmms", "czrecordmmsid", "targetbibmmsid"),
    "target_portfolio_id": ("targetportfolioid", "czportfolioid", "cztargetportfolioid", "keepportfolioid", "targetpid", "czpid"),
    "po_line": ("poline", "pol", "polinenumber", "polnumber", "polineid", "p2epol", "purchaseorderline"),
    "bib_handling": ("bibhandling", "handlingofbib", "bibrecordhandling", "bibhandlingdeletesuppresskeep"),
    # group: the local electronic collection (its ID or public name) and, when it has several, its service
    "collection": ("collection", "collectionid", "localcollection", "ecollection", "electroniccollection",
                   "collectionname"),
    "service": ("service", "serviceid", "eservice", "electronicservice"),
}
_FIELD_OF = {name: field_name for field_name, names in SYNONYMS.items() for name in names}
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise_header(text: object) -> str:
    """'Voyager_BIB ID ' -> 'voyagerbibid': lower case, letters and digits only.

    >>> normalise_header(" MMS_ID ")
    'mmsid'
    """
    return _NOT_ALNUM.sub("", str(text or "").lower())


def field_for_header(text: object) -> str | None:
    """The processor field a column header names, or None.

    >>> field_for_header("CZ MMS ID"), field_for_header("PID"), field_for_header("Action (delete/relink/keep)")
    ('target_mms_id', 'portfolio_id', 'action')
    """
    name = normalise_header(text)
    if name in _FIELD_OF:
        return _FIELD_OF[name]
    bare = normalise_header(_PARENTHESES.sub("", str(text or "")))
    return _FIELD_OF.get(bare)


def header_fields(values: list[Any]) -> dict[str, list[int]]:
    """The fields a row's cells name as headings, each with the 0-based columns that name it."""
    found: dict[str, list[int]] = {}
    for index, value in enumerate(values):
        if isinstance(value, str):
            name = field_for_header(value)
            if name:
                found.setdefault(name, []).append(index)
    return found


def find_header(rows: Iterator[RawRow], limit: int | None = None) -> RawRow | None:
    """The first row within the first ``limit`` rows (HEADER_SEARCH_ROWS) that has an Action heading."""
    if limit is None:
        limit = limits.HEADER_SEARCH_ROWS
    for raw in rows:
        if raw.number > limit:
            return None
        if "action" in header_fields(raw.values):
            return raw
    return None


def header_too_far(sheet_name: str, row: int) -> FileRejected:
    return reject("header_too_far", limit=limits.HEADER_SEARCH_ROWS, sheet=shorten(sheet_name), row=row,
                  problem_kw={"sheet": sheet_name, "row": row})
