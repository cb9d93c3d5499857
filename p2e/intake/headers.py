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
# The identifier columns of a raw P2E report, read only by the suggestion step (p2e/suggest): never required,
# and never a reason to refuse a file. "ISBN/ISSN" (CARLI's report) holds either.
IDENTIFIER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "isbn": ("isbn", "isbns", "isbnissn", "isbn13", "isbn10", "eisbn", "020", "020a"),
    "issn": ("issn", "issns", "eissn", "issnisbn", "022", "022a"),
    "oclc": ("oclc", "oclcnumber", "oclcno", "oclcnum", "ocolc", "oclcid", "035oclc"),
    "title": ("title", "titles", "245", "245a", "titlestatement"),
    "url": ("856url", "url", "856u", "856", "link", "856link", "p2eurl", "856field"),
}
_IDENTIFIER_OF = {name: field_name for field_name, names in IDENTIFIER_SYNONYMS.items() for name in names}
# A sheet with no Action heading is still a suggestion request when it names the record (p2e/suggest).
RECORD_FIELDS = ("voyager_bib_id", "mms_id")
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


def identifier_columns(headers: list[str]) -> dict[str, int]:
    """The 0-based column of each identifier a raw P2E report may carry (ISBN, ISSN, OCLC, Title, URL); first wins.

    >>> identifier_columns(["BIB_ID", "Title", "ISBN/ISSN", "OCLC Number", "856 URL"])
    {'title': 1, 'isbn': 2, 'oclc': 3, 'url': 4}
    """
    found: dict[str, int] = {}
    for index, text in enumerate(headers):
        name = normalise_header(text)
        kind = _IDENTIFIER_OF.get(name) or _IDENTIFIER_OF.get(normalise_header(_PARENTHESES.sub("", str(text or ""))))
        if kind and kind not in found:
            found[kind] = index
    return found


def is_header(values: list[Any], records_only: bool = False) -> bool:
    """A header row: it has an Action heading; or, with ``records_only`` (a raw P2E report, a suggestion
    request), a Voyager BIB_ID or MMS ID heading.

    >>> is_header(["BIB_ID", "Title"]), is_header(["BIB_ID", "Title"], records_only=True)
    (False, True)
    """
    found = header_fields(values)
    if "action" in found:
        return True
    return records_only and any(name in found for name in RECORD_FIELDS)


def find_header(rows: Iterator[RawRow], limit: int | None = None, records_only: bool = False) -> RawRow | None:
    """The first row within the first ``limit`` rows (HEADER_SEARCH_ROWS) that has an Action heading
    (or, with ``records_only``, a record heading: see :func:`is_header`)."""
    if limit is None:
        limit = limits.HEADER_SEARCH_ROWS
    for raw in rows:
        if raw.number > limit:
            return None
        if is_header(raw.values, records_only):
            return raw
    return None


def header_too_far(sheet_name: str, row: int) -> FileRejected:
    return reject("header_too_far", limit=limits.HEADER_SEARCH_ROWS, sheet=shorten(sheet_name), row=row,
                  problem_kw={"sheet": sheet_name, "row": row})
