"""From Alma's JSON to the :class:`~p2e.suggest.rules.Record` the rules read: the bib, its identifiers, its
portfolios (from the AVE fields, or from a collection listing, which says more) and its CZ link.

Pure functions over what Alma answered; no HTTP.

>>> bib = {"mms_id": "99456", "linked_record_id": {"type": "CZ", "value": "9950"},
...        "anies": ['<record><datafield tag="020" ind1=" " ind2=" "><subfield code="a">1421400839</subfield></datafield>'
...                  '<datafield tag="AVE" ind1=" " ind2=" "><subfield code="8">532</subfield><subfield code="c">61</subfield>'
...                  '<subfield code="e">Available</subfield></datafield></record>']}
>>> r = record_from_bib(bib)
>>> r.cz_linked, sorted(r.ids.isbns), [(p.id, p.available, p.collection_id, p.standalone) for p in r.portfolios]
(True, ['9781421400839'], [('532', True, '61', False)])
"""
from __future__ import annotations

from typing import Any

from . import marc
from .identifiers import Identifiers, isbns, issns, oclc, title_key
from .rules import Portfolio, Record


def _value(field: Any) -> str:
    if isinstance(field, dict):
        field = field.get("value")
    return "" if field is None else str(field).strip()


def _flag(field: Any) -> bool | None:
    value = field.get("value") if isinstance(field, dict) else field
    if value is None or value == "":
        return None
    return value is True or str(value).strip().lower() == "true"


def marcxml(bib: dict) -> str:
    anies = bib.get("anies")
    if isinstance(anies, list):
        anies = anies[0] if anies else ""
    return str(anies or "")


def record_from_bib(bib: dict) -> Record:
    """A bib read with ``expand=p_avail,e_avail``: its identifiers, CZ link, portfolios (AVE) and holdings (AVA).

    A portfolio in a collection ($c) is not standalone; whether a standalone one is local is not in the
    AVE field (None: the rules then rely on it being standalone, as every P2E portfolio is).
    """
    parsed = marc.parse(marcxml(bib))
    ids = marc.identifiers(parsed)
    if not ids.title:
        ids.title = title_key(bib.get("title"))
    link = bib.get("linked_record_id") or {}
    cz = isinstance(link, dict) and str(link.get("type") or "").upper() == "CZ"
    portfolios = [Portfolio(ave.portfolio_id, available=ave.available, collection_id=ave.collection_id,
                            collection_name=ave.collection_name, standalone=not ave.collection_id)
                  for ave in marc.electronic(parsed) if ave.portfolio_id]
    return Record(str(bib.get("mms_id") or ""), ids, cz_linked=cz, portfolios=portfolios,
                  physical=marc.has_physical(parsed), title=str(bib.get("title") or ""))


def portfolio_from_listing(portfolio: dict, collection_name: str = "") -> Portfolio:
    """A portfolio as a collection's service lists it (availability, is_local and the collection are all there)."""
    collection = portfolio.get("electronic_collection") or {}
    availability = _value(portfolio.get("availability"))
    return Portfolio(str(portfolio.get("id") or ""), available=availability == "11" if availability else None,
                     collection_id=_value(collection.get("id")), collection_name=collection_name,
                     local=_flag(portfolio.get("is_local")), standalone=_flag(portfolio.get("is_standalone")),
                     confirmed=True)


def merge_listed(record: Record, listed: list[Portfolio]) -> Record:
    """The record with its listed portfolios replacing the AVE view of the same portfolios (the listing says more)."""
    by_id = {p.id: p for p in listed}
    kept = [by_id.pop(p.id, p) for p in record.portfolios]
    record.portfolios = kept + list(by_id.values())
    if any(p.local is False for p in listed):
        record.cz_linked = True
    return record


def staff_identifiers(values: list[Any], columns: dict[str, int]) -> Identifiers:
    """Identifiers from the staff's own columns (ISBN/ISSN, OCLC, Title, URL) of one row."""
    def cell(kind: str) -> str:
        index = columns.get(kind)
        value = values[index] if index is not None and index < len(values) else None
        return "" if value is None else str(value)

    ids = Identifiers()
    for kind in ("isbn", "issn"):  # CARLI's "ISBN/ISSN" column holds either
        text = cell(kind)
        ids.isbns |= isbns(text)
        ids.issns |= issns(text) if not ids.isbns or kind == "issn" else set()
    number = oclc(cell("oclc"))
    if number:
        ids.oclc.add(number)
    ids.links |= marc.url_keys(cell("url")) if cell("url") else set()
    ids.title = title_key(cell("title"))
    return ids
