"""The SRU route: Alma's SRU search for the P2E rows the collection route did not match.

Alma's REST API cannot search by ISBN, ISSN, OCLC number or title; its SRU endpoint
(``SRU_BASE_URL``: ``https://<Alma host>/view/sru/<INSTITUTION_CODE>``) can.
:func:`sru_search` says whether the route can run, and why not in plain words when it cannot.
"""
from __future__ import annotations

from typing import Callable

from ..config import Settings
from .reader import AlmaReader
from .rules import Record

SruSearch = Callable[[list[Record]], list[Record]]


def sru_search(settings: Settings, reader: AlmaReader) -> tuple[SruSearch | None, str]:
    """(the search, "") when SRU can be used; else (None, why not, in plain words)."""
    if not settings.sru_base_url:
        return None, ("Alma's SRU search was not used: ALMA_INSTITUTION_CODE (or SRU_BASE_URL) is not set, so only the "
                      "collections named were searched.")
    return None, "Alma's SRU search is not available in this version: only the collections named were searched."
