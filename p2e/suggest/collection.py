"""The collection route: list the Community Zone collections staff named, read their bibs, match locally.

For each collection: its services (``GET /electronic/e-collections/{id}/e-services``), each
service's portfolios 100 per call (``.../portfolios``), then the portfolios' bibs 100 per call
(``GET /bibs?mms_id=...&expand=p_avail,e_avail``). Every twin found is indexed by its
normalised identifiers and title, so matching thousands of P2E rows costs no further call.
CARLI's 3,182-portfolio collection is about 64 calls.

A collection is named by its ID (digits) or by its public name (exact, any case).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..alma.errors import AlmaError
from ..model import shorten
from .evidence import merge_listed, portfolio_from_listing, record_from_bib
from .identifiers import Identifiers
from .reader import AlmaReader
from .rules import Portfolio, Record


@dataclass
class Collection:
    id: str
    name: str

    def label(self) -> str:
        return f"collection '{self.name}' ({self.id})" if self.name else f"collection {self.id}"


def find_collections(reader: AlmaReader, wanted: list[str]) -> tuple[list[Collection], list[str]]:
    """The collections named (by ID or public name), and a plain message for each one not found."""
    found: list[Collection] = []
    problems: list[str] = []
    for name in wanted:
        if name.isdigit():
            try:
                data = reader.collection(name)
            except AlmaError as exc:
                if exc.not_found or exc.code == "60121":
                    problems.append(f"There is no e-collection with the ID {name} in Alma: check the Collections setting.")
                    continue
                raise
            found.append(Collection(name, str(data.get("public_name") or "")))
            continue
        hits = [c for c in reader.collections(q=f"name~{name}")
                if " ".join(str(c.get("public_name") or "").split()).lower() == name.lower()]
        if not hits:
            problems.append(f"No e-collection in Alma is called '{shorten(name)}': write its public name exactly as "
                            "Alma shows it, or its collection ID, in the Collections setting.")
        for hit in hits:
            found.append(Collection(str(hit.get("id") or ""), str(hit.get("public_name") or "")))
    unique = list({c.id: c for c in found}.values())
    return unique, problems


def collection_twins(reader: AlmaReader, collections: list[Collection]) -> list[Record]:
    """Every bib with a portfolio in ``collections``, with the listed portfolios (availability, CZ link)."""
    listed: dict[str, list[Portfolio]] = defaultdict(list)
    for collection in collections:
        for service in reader.services(collection.id):
            service_id = str(service.get("id") or "")
            for portfolio in reader.service_portfolios(collection.id, service_id):
                mms = str(((portfolio.get("resource_metadata") or {}).get("mms_id") or {}).get("value") or "")
                if mms:
                    listed[mms].append(portfolio_from_listing(portfolio, collection.name))
    bibs = reader.bibs(listed)
    return [merge_listed(record_from_bib(bib), listed[mms]) for mms, bib in bibs.items()]


@dataclass
class TwinIndex:
    """Records indexed by every strong identifier and by title key."""

    by_key: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    records: dict[str, Record] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        if record.mms_id in self.records:
            known = self.records[record.mms_id]
            ids = {p.id for p in known.portfolios}
            known.portfolios += [p for p in record.portfolios if p.id not in ids]
            known.cz_linked = known.cz_linked or record.cz_linked
            return
        self.records[record.mms_id] = record
        for key in record.ids.strong_keys():
            self.by_key[key].add(record.mms_id)
        if record.ids.title:
            self.by_key[("title", record.ids.title)].add(record.mms_id)

    def candidates(self, ids: Identifiers) -> list[Record]:
        """Every record sharing a strong identifier or the title key with ``ids``."""
        keys = set(ids.strong_keys())
        if ids.title:
            keys.add(("title", ids.title))
        found: set[str] = set()
        for key in keys:
            found |= self.by_key.get(key, set())
        return [self.records[m] for m in sorted(found)]
