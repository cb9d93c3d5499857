"""The SRU route: Alma's SRU search for the P2E rows the collection route did not match.

Alma's REST API cannot search by ISBN, ISSN, OCLC number or title; its SRU endpoint
(``SRU_BASE_URL``: ``https://<Alma host>/view/sru/<INSTITUTION_CODE>``) can. The P2E records
are searched :data:`BATCH` at a time: every ISBN (both forms: Alma's index does not convert),
ISSN, OCLC number and title (every word) of the batch OR-ed into one CQL query, 50 records a page.
The records found that share a strong identifier with a P2E record are then read again through
REST, 100 per call (``GET /bibs?mms_id=...&expand=p_avail,e_avail``): the bib's CZ link and its
portfolios come from Alma's REST answer, not from SRU alone. The step then confirms the chosen
twin's portfolio with one more REST read (:func:`p2e.suggest.step.confirm_targets`).

:func:`sru_search` says whether the route can run, and why not in plain words when it cannot.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from ..alma.sru import SruClient, SruRecord, cql_any
from ..config import Settings
from . import marc
from .evidence import record_from_bib
from .identifiers import Identifiers
from .reader import AlmaReader
from .rules import Portfolio, Record

SruSearch = Callable[[list[Record]], list[Record]]
BATCH = 10  # P2E records per query: about 40 terms, one page of answers for most batches


def _isbn10(isbn13: str) -> str | None:
    if not isbn13.startswith("978"):
        return None
    body = isbn13[3:12]
    check = (11 - sum((10 - i) * int(c) for i, c in enumerate(body)) % 11) % 11
    return body + ("X" if check == 10 else str(check))


def query_for(records: list[Record]) -> str:
    """One CQL query finding every record that shares an identifier or the exact title with any of ``records``.

    >>> query_for([Record("99", Identifiers(isbns={"9781421400839"}, oclc={"12"}, title="quiet rivers"))])
    'alma.isbn="1421400839" or alma.isbn="9781421400839" or alma.oclc_control_number_035_a="12" or alma.title all "quiet rivers"'
    """
    parts: list[str] = []
    isbns = sorted({v for r in records for i in r.ids.isbns for v in (i, _isbn10(i)) if v})
    issns = sorted({i for r in records for i in r.ids.issns})
    oclcs = sorted({o for r in records for o in r.ids.oclc})
    titles = sorted({r.ids.title for r in records if r.ids.title})
    for index, values in (("alma.isbn", isbns), ("alma.issn", issns), ("alma.oclc_control_number_035_a", oclcs)):
        if values:
            parts.append(cql_any(index, values))
    if titles:
        parts.append(" or ".join(f'alma.title all "{t}"' for t in titles))  # every word (the key has no quotes)
    return " or ".join(parts)


def record_from_sru(found: SruRecord) -> Record:
    """What SRU says of a record: identifiers, the (EXLCZ) 035 of a CZ-linked record, AVE portfolios, AVA."""
    element = found.marc
    ids = marc.identifiers(element)
    cz = any(v.upper().startswith("(EXLCZ)") for v in found.subfields("035", "a"))
    portfolios = [Portfolio(a.portfolio_id, available=a.available, collection_id=a.collection_id,
                            collection_name=a.collection_name, standalone=not a.collection_id)
                  for a in found.availability if a.portfolio_id]
    return Record(found.mms_id, ids, cz_linked=cz, portfolios=portfolios, physical=marc.has_physical(element))


def sru_twins(sru: SruClient, reader: AlmaReader, p2e: list[Record], workers: int = 4) -> list[Record]:
    """Every record SRU finds for ``p2e``; those sharing a strong identifier are re-read through REST."""
    found: dict[str, Record] = {}
    own = {r.mms_id for r in p2e}
    queries = [q for start in range(0, len(p2e), BATCH) if (q := query_for(p2e[start:start + BATCH]))]

    def search(query: str) -> list[SruRecord]:
        reader.check_reserve()
        return sru.search_all(query, limit=500)

    with ThreadPoolExecutor(max(1, workers)) as pool:  # through the client's one limiter
        for hits in pool.map(search, queries):
            for hit in hits:
                if hit.mms_id and hit.mms_id not in own:
                    found.setdefault(hit.mms_id, record_from_sru(hit))
    strong = {key for r in p2e for key in r.ids.strong_keys()}
    recheck = [m for m, r in found.items() if r.ids.strong_keys() & strong]
    bibs = reader.bibs(recheck)
    for mms in recheck:
        if mms in bibs:
            found[mms] = record_from_bib(bibs[mms])
        else:
            del found[mms]  # gone from Alma since SRU's index saw it
    return list(found.values())


def sru_search(settings: Settings, reader: AlmaReader) -> tuple[SruSearch | None, str]:
    """(the search, "") when SRU can be used; else (None, why not, in plain words)."""
    if not settings.sru_base_url:
        return None, ("Alma's SRU search was not used: ALMA_INSTITUTION_CODE (or SRU_BASE_URL) is not set, so only "
                      "the collections named were searched.")
    sru = SruClient(settings.sru_base_url, reader.client)
    return (lambda records: sru_twins(sru, reader, records, settings.workers)), ""
