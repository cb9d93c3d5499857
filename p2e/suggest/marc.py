"""Reading a MARC21 record (Alma's MARCXML, from a bib's ``anies`` or an SRU answer) for matching.

What a record says about itself: its identifiers (020 ISBN, 022 ISSN, 035 OCLC number, 024
DOI/ISBN, 245 title, 856 $u), its electronic inventory (AVE fields: one per portfolio, with
$8 portfolio ID, $c collection ID, $m collection name, $e status) and whether it has physical
inventory (AVA). Pure functions: no HTTP.

>>> xml = ('<record><datafield tag="020" ind1=" " ind2=" "><subfield code="a">0801894891 (pbk.)</subfield></datafield>'
...        '<datafield tag="035" ind1=" " ind2=" "><subfield code="a">(OCoLC)ocm00012345</subfield></datafield>'
...        '<datafield tag="245" ind1="1" ind2="4"><subfield code="a">The hidden /</subfield></datafield></record>')
>>> ids = identifiers(parse(xml))
>>> sorted(ids.isbns), sorted(ids.oclc), ids.title
(['9780801894893'], ['12345'], 'hidden')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree

from . import identifiers as ident
from .identifiers import Identifiers


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(xml: str | bytes) -> ElementTree.Element | None:
    """The ``record`` element of a MARCXML text (an XML declaration and namespaces allowed), or None."""
    text = xml.decode("utf-8", "replace") if isinstance(xml, bytes) else str(xml or "")
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text).strip()
    if not text:
        return None
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    if _local(root.tag) == "record":
        return root
    return next((el for el in root.iter() if _local(el.tag) == "record"), None)


def datafields(record: ElementTree.Element | None, tag: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(ind1, ind2, [(code, text), ...]) of every ``tag`` field of a record."""
    if record is None:
        return []
    out = []
    for field in record:
        if _local(field.tag) == "datafield" and field.get("tag") == tag:
            subs = [(sub.get("code") or "", sub.text or "") for sub in field if _local(sub.tag) == "subfield"]
            out.append((field.get("ind1") or " ", field.get("ind2") or " ", subs))
    return out


def controlfield(record: ElementTree.Element | None, tag: str) -> str:
    if record is None:
        return ""
    return next(((f.text or "").strip() for f in record if _local(f.tag) == "controlfield" and f.get("tag") == tag), "")


def identifiers(record: ElementTree.Element | None) -> Identifiers:
    """The identifiers a MARC record carries, normalised.

    020 $a (ISBN; $z, a cancelled or invalid ISBN, is not used); 022 $a (ISSN); 035 $a only when it is an
    OCLC number; 024 $a with first indicator 7 and $2 doi (a DOI) or 3 (an EAN: an ISBN-13); 245 $a $b
    (the title); 856 $u (the DOI in it, or the address behind any proxy).
    """
    ids = Identifiers()
    for _, _, subs in datafields(record, "020"):
        for code, text in subs:
            if code == "a" and (value := ident.isbn13(text)):
                ids.isbns.add(value)
    for _, _, subs in datafields(record, "022"):
        for code, text in subs:
            if code == "a" and (value := ident.issn(text)):
                ids.issns.add(value)
    for _, _, subs in datafields(record, "035"):
        for code, text in subs:
            if code == "a" and (value := ident.oclc_from_035(text)):
                ids.oclc.add(value)
    for ind1, _, subs in datafields(record, "024"):
        source = next((t.strip().lower() for c, t in subs if c == "2"), "")
        for code, text in subs:
            if code != "a":
                continue
            if ind1 == "7" and source == "doi" and (value := ident.doi(text)):
                ids.links.add(value)
            elif ind1 == "3" and (value := ident.isbn13(text)):
                ids.isbns.add(value)
    for _, _, subs in datafields(record, "245")[:1]:
        ids.title = ident.title_key(" ".join(t for c, t in subs if c in "ab"))
    for _, _, subs in datafields(record, "856"):
        for code, text in subs:
            if code == "u":
                ids.links.update(url_keys(text))
    return ids


def url_keys(url: object) -> set[str]:
    """What an address contributes to matching: its DOI when it has one, else its reduced form."""
    value = ident.doi(url)
    if value:
        return {value}
    reduced = ident.link(url)
    return {reduced} if reduced else set()


@dataclass(frozen=True)
class Ave:
    """One AVE field: a portfolio as the bib's availability shows it."""

    portfolio_id: str
    collection_id: str = ""
    collection_name: str = ""
    status: str = ""

    @property
    def available(self) -> bool:
        return self.status.strip().lower().startswith("available")


def electronic(record: ElementTree.Element | None) -> list[Ave]:
    """The record's AVE fields ($8 portfolio ID, $c collection ID, $m collection name, $e status)."""
    out = []
    for _, _, subs in datafields(record, "AVE"):
        first: dict[str, str] = {}
        for code, text in subs:
            first.setdefault(code, text.strip())
        out.append(Ave(first.get("8", ""), first.get("c", ""), first.get("m", ""), first.get("e", "")))
    return out


def has_physical(record: ElementTree.Element | None) -> bool:
    """True when the record has AVA fields (holdings): a print record."""
    return bool(datafields(record, "AVA"))
