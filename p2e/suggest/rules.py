"""The matching rules: one P2E record and the candidate twins found for it in, one suggestion out.

A pure function (:func:`suggest`) of what was read from Alma; no HTTP, no Excel. The rules never
guess in the direction of a delete:

* **delete** only when exactly one twin is a Community-Zone-linked record with an available
  portfolio, matched on a strong identifier (ISBN, ISSN, OCLC number from 035, the same DOI or
  URL path) with no identifier of the same kind contradicting it, and the P2E record has no
  open PO line;
* **relink** when the same holds but the P2E record has one open PO line (PO Line and Target
  Portfolio ID are filled in);
* **keep** when no candidate twin at all was found: the P2E portfolio is the only access;
* nothing (Match weak, Why says what to check) when only the title matches, when two or more
  twins qualify, when the twin's portfolio is not available, when identifiers conflict
  (another edition, print against electronic), when the P2E portfolio is not a standalone
  local one, or when there are several open PO lines.

>>> p2e = Record("99123", Identifiers(isbns={"9781421400839"}), portfolios=[Portfolio("531", local=True, standalone=True)])
>>> twin = Record("99456", Identifiers(isbns={"9781421400839"}), cz_linked=True,
...               portfolios=[Portfolio("532", available=True, collection_id="61", collection_name="Academic Complete")])
>>> s = suggest(p2e, [twin])
>>> s.action, s.match, s.target_mms_id, s.target_portfolio_id
('delete', 'strong', '99456', '532')
>>> s.why
"ISBN 9781421400839 on both; the record you keep, 99456, is in CZ collection 'Academic Complete' (61), portfolio 532 Available; the P2E portfolio 531 has no open order."
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .identifiers import KIND_WORDS, Identifiers, conflicts, shared

STRONG, WEAK, NONE = "strong", "weak", "none"


@dataclass
class Portfolio:
    """A portfolio as the suggestion step saw it; None where Alma's answer did not say."""

    id: str
    available: bool | None = None
    collection_id: str = ""
    collection_name: str = ""
    local: bool | None = None
    standalone: bool | None = None
    confirmed: bool = False  # read as a portfolio through REST (a collection listing or a portfolio GET)

    @property
    def in_collection(self) -> bool:
        return bool(self.collection_id)


@dataclass
class Record:
    """A bib with what matching needs: identifiers, CZ link, portfolios, holdings, open PO lines."""

    mms_id: str
    ids: Identifiers = field(default_factory=Identifiers)
    cz_linked: bool = False
    portfolios: list[Portfolio] = field(default_factory=list)
    physical: bool = False  # has holdings (AVA): a print record
    open_po_lines: list[str] = field(default_factory=list)
    title: str = ""


@dataclass
class Suggestion:
    """What the annotated workbook writes on one row. ``action`` is None when nothing is suggested."""

    match: str
    why: str
    action: str | None = None
    mms_id: str | None = None
    portfolio_id: str | None = None
    target_mms_id: str | None = None
    target_portfolio_id: str | None = None
    po_line: str | None = None
    bib_handling: str | None = None


def _evidence(pairs: list[tuple[str, str]]) -> str:
    """'ISBN 9781421400839 and OCLC number 190789234' (at most two identifiers named)."""
    words = [f"the same DOI/URL ({value})" if kind == "link" else f"{KIND_WORDS[kind]} {value}" for kind, value in pairs[:2]]
    return " and ".join(words)


def _where(record: Record, portfolio: Portfolio) -> str:
    """'99456, is in CZ collection 'Academic Complete' (61), portfolio 532 Available'."""
    place = (f"is in CZ collection '{portfolio.collection_name}' ({portfolio.collection_id})" if portfolio.collection_name
             else f"is in CZ collection {portfolio.collection_id}" if portfolio.collection_id else "is a CZ record")
    status = "Available" if portfolio.available else "Not Available"
    return f"{record.mms_id}, {place}, portfolio {portfolio.id} {status}"


def _p2e_portfolio(p2e: Record, portfolio_id: str | None) -> tuple[Portfolio | None, str]:
    """The P2E portfolio of the row, or None and what to check."""
    if portfolio_id:
        found = next((p for p in p2e.portfolios if p.id == portfolio_id), None)
        if found is None:
            return None, (f"Portfolio {portfolio_id} is not on record {p2e.mms_id} in Alma: check the Portfolio ID "
                          "(it may already have been deleted).")
        return found, ""
    if not p2e.portfolios:
        return None, f"Record {p2e.mms_id} has no portfolio in Alma: nothing to clean up, or it was already deleted."
    if len(p2e.portfolios) > 1:
        ids = ", ".join(p.id for p in p2e.portfolios[:4])
        return None, (f"Record {p2e.mms_id} has {len(p2e.portfolios)} portfolios ({ids}): fill in the Portfolio ID "
                      "of the P2E one, then ask for suggestions again.")
    return p2e.portfolios[0], ""


def suggest(p2e: Record | None, candidates: list[Record], *, portfolio_id: str | None = None,
            searched: str = "Alma", bib_handling: str = "delete", everywhere: bool = True) -> Suggestion:
    """The suggestion for one P2E row (see the module docstring for the rules).

    ``candidates`` are every record found sharing an identifier or the title with the P2E record;
    ``searched`` says where they were looked for ("Alma", "collection 'X'"), for the Why; ``everywhere`` is
    False when only collections were searched (a twin elsewhere would not have been seen).
    """
    if p2e is None:
        return Suggestion(NONE, "The P2E record was not found in Alma: check the MMS ID (or the BIB_ID).")
    portfolio, problem = _p2e_portfolio(p2e, portfolio_id)
    if portfolio is None:
        return Suggestion(WEAK, problem, mms_id=p2e.mms_id)
    base = {"mms_id": p2e.mms_id, "portfolio_id": portfolio.id}
    if p2e.cz_linked or portfolio.in_collection or portfolio.local is False or portfolio.standalone is False:
        what = ("the record is linked to the Community Zone" if p2e.cz_linked
                else f"the portfolio is in collection {portfolio.collection_name or portfolio.collection_id}"
                if portfolio.in_collection else "the portfolio is not a standalone local one")
        return Suggestion(WEAK, f"Portfolio {portfolio.id} is not a P2E portfolio: {what}. This may be the record to "
                          "keep: check that the MMS ID and Portfolio ID are the P2E record's.", **base)
    others = [c for c in candidates if c.mms_id != p2e.mms_id]
    if not others:
        if not everywhere:
            return Suggestion(NONE, f"No other record in {searched} shares its ISBN, ISSN, OCLC number, link or title, "
                              "and only the collections named were searched, so a twin elsewhere would not be seen: "
                              f"keep the P2E portfolio {portfolio.id} unless you know of one.", action="keep", **base)
        return Suggestion(NONE, f"No other record in {searched} shares its ISBN, ISSN, OCLC number, link or title: "
                          f"the P2E portfolio {portfolio.id} is the only access, so keep it.", action="keep", **base)
    qualified: list[tuple[Record, Portfolio, list[tuple[str, str]]]] = []
    notes: list[str] = []
    for twin in others:
        pairs = shared(p2e.ids, twin.ids)
        clash = conflicts(p2e.ids, twin.ids)
        if not pairs:
            if clash:
                kinds = " and ".join(f"{KIND_WORDS[k]}s" for k in clash)
                notes.append(f"record {twin.mms_id} has the same title but other {kinds} (another edition or format)")
            else:
                notes.append(f"only the title matches record {twin.mms_id}")
            continue
        if clash:
            kinds = " and ".join(f"{KIND_WORDS[k]}s" for k in clash)
            notes.append(f"record {twin.mms_id} shares {_evidence(pairs)} but has other {kinds}")
            continue
        if not twin.cz_linked:
            kind = "a print record" if twin.physical and not twin.portfolios else "a local record, not linked to the Community Zone"
            notes.append(f"record {twin.mms_id} ({_evidence(pairs)} on both) is {kind}")
            continue
        available = sorted((p for p in twin.portfolios if p.available and p.local is not True),
                           key=lambda p: not p.confirmed)  # one Alma answered for as a portfolio first
        if not available:
            state = "has no portfolio" if not twin.portfolios else "has no Available portfolio (Not Available)"
            notes.append(f"CZ record {twin.mms_id} ({_evidence(pairs)} on both) {state}")
            continue
        if len(available) > 1:
            notes.append(f"CZ record {twin.mms_id} has {len(available)} Available portfolios")
        qualified.append((twin, available[0], pairs))
    if len(qualified) > 1:
        names = ", ".join(f"{t.mms_id} ({p.collection_name or p.collection_id})" for t, p, _ in qualified[:4])
        return Suggestion(WEAK, f"{len(qualified)} CZ records qualify as the record to keep: {names}. Choose one, fill in "
                          "its Target MMS ID and the Action.", **base)
    if not qualified:
        return Suggestion(WEAK, "Nothing suggested: " + "; ".join(notes[:3]) + ". Check the record in Alma.", **base)
    twin, kept, pairs = qualified[0]
    why = f"{_evidence(pairs)} on both; the record you keep, {_where(twin, kept)}"
    target = {"target_mms_id": twin.mms_id, "target_portfolio_id": kept.id, "bib_handling": bib_handling}
    if len(p2e.open_po_lines) > 1:
        return Suggestion(WEAK, f"{why}; but the P2E record has {len(p2e.open_po_lines)} open orders "
                          f"({', '.join(p2e.open_po_lines[:3])}): decide which PO line moves, then relink.",
                          **base, target_mms_id=twin.mms_id, target_portfolio_id=kept.id)
    if p2e.open_po_lines:
        pol = p2e.open_po_lines[0]
        return Suggestion(STRONG, f"{why}; the P2E record has the open order {pol}: it moves to the record you keep.",
                          action="relink", po_line=pol, **base, **target)
    return Suggestion(STRONG, f"{why}; the P2E portfolio {portfolio.id} has no open order.", action="delete",
                      **base, **target)
