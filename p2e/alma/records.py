"""Reading Alma's JSON records in the library's terms: is this portfolio P2E, is this bib NZ-linked...

Pure functions over the dicts Alma returns; no HTTP, no Excel.

>>> is_p2e_portfolio({"is_local": True, "is_standalone": True})
True
>>> po_line_number({"po_line": {"value": "POL-1", "link": "..."}})
'POL-1'
"""
from __future__ import annotations

import re
from functools import lru_cache
from xml.etree import ElementTree

OPEN_PO_LINE = lambda status: status not in ("CLOSED", "CANCELLED")  # noqa: E731


def _flag(value: object) -> bool:
    if isinstance(value, dict):
        value = value.get("value")
    return value is True or str(value).strip().lower() == "true"


def _value(field: object) -> str:
    if isinstance(field, dict):
        field = field.get("value")
    return "" if field is None else str(field).strip()


def is_p2e_portfolio(portfolio: dict) -> bool:
    """Local and standalone: what the P2E migration step made."""
    return _flag(portfolio.get("is_local")) and _flag(portfolio.get("is_standalone"))


def is_cz_linked(portfolio: dict) -> bool:
    return not _flag(portfolio.get("is_local"))


def is_available(portfolio: dict) -> bool:
    return _value(portfolio.get("availability")) == "11"


def collection_of(portfolio: dict) -> tuple[str, str]:
    """(collection ID, collection name if Alma gave one) of a portfolio in a collection."""
    collection = portfolio.get("electronic_collection") or {}
    return _value(collection.get("id")), str((collection.get("id") or {}).get("desc") or collection.get("name") or "")


def po_line_number(record: dict) -> str:
    return _value(record.get("po_line"))


def po_line_status(po_line: dict) -> str:
    return _value(po_line.get("status")).upper()


def po_line_bib(po_line: dict) -> str:
    return _value((po_line.get("resource_metadata") or {}).get("mms_id"))


def bib_link(bib: dict) -> tuple[str, str]:
    """(type, linked ID) of a bib's Network/Community Zone link: ('NZ', '99…5816'), or ('', '')."""
    link = bib.get("linked_record_id") or {}
    if not isinstance(link, dict):
        return "", ""
    return (str(link.get("type") or "").upper(), str(link.get("value") or ""))


def is_suppressed(bib: dict) -> bool:
    return _flag(bib.get("suppress_from_publishing"))


def _marc_fields(bib: dict, tag: str) -> list[dict[str, str]] | None:
    """Subfields of every ``tag`` field in the bib's MARCXML; None when the bib carries no MARC."""
    anies = bib.get("anies")
    if isinstance(anies, list):
        anies = anies[0] if anies else None
    if not anies:
        return None
    parsed = _inventory_fields(str(anies))
    return None if parsed is None else [dict(f) for f in parsed.get(tag, ())]


@lru_cache(maxsize=1024)
def _inventory_fields(anies: str) -> dict[str, tuple] | None:
    """AVA/AVE/AVD fields of one MARCXML record, parsed once however often a row asks."""
    text = re.sub(r"^<\?xml[^>]*\?>", "", anies.strip())
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    fields: dict[str, list] = {}
    for field in root.iter():
        tag = field.get("tag")
        if field.tag.rsplit("}", 1)[-1] == "datafield" and tag in ("AVA", "AVE", "AVD"):
            fields.setdefault(tag, []).append(tuple((sub.get("code"), sub.text or "") for sub in field
                                                    if sub.tag.rsplit("}", 1)[-1] == "subfield"))
    return {tag: tuple(values) for tag, values in fields.items()}


def has_availability_fields(bib: dict) -> bool:
    """True when the bib carries Alma's AVA/AVE inventory fields (it was read with ``expand``).

    A bib with a portfolio read with ``expand=e_avail`` has at least one AVE field; without
    any, the server did not expand and the inventory picture is unknown.
    """
    return bool(_marc_fields(bib, "AVE")) or bool(_marc_fields(bib, "AVA"))


def electronic_inventory(bib: dict) -> list[dict[str, str]]:
    """AVE fields (one per portfolio): $8 portfolio ID, $e status, $c collection ID, $m collection name."""
    return _marc_fields(bib, "AVE") or []


def physical_inventory(bib: dict) -> list[dict[str, str]]:
    """AVA fields (one per holding): $8 holding ID, $b library, $c location."""
    return _marc_fields(bib, "AVA") or []


def other_inventory(bib: dict, portfolio_id: str) -> list[str]:
    """Plain descriptions of the inventory on ``bib`` besides ``portfolio_id``."""
    found = [f"portfolio {ave.get('8')}" for ave in electronic_inventory(bib) if ave.get("8") and ave.get("8") != portfolio_id]
    found += [f"holding {ava.get('8') or ava.get('b', '')}".strip() for ava in physical_inventory(bib)]
    return found


def available_portfolios(bib: dict) -> list[dict[str, str]]:
    return [ave for ave in electronic_inventory(bib) if (ave.get("e") or "").strip().lower().startswith("available")]
