"""One sheet through the suggestion step: find each P2E record, its twins, its open orders; apply the rules.

Reads only (:class:`~p2e.suggest.reader.AlmaReader`). The calls, in order:

1. the P2E bibs, 100 per call (a row's MMS ID, or its BIB_ID turned into one by ``MMS_ID_SUFFIX``;
   with ``OTHER_SYSTEM_ID_PATTERN`` one search per row);
2. the twins: the collection route (:mod:`p2e.suggest.collection`) for the collections named,
   then the SRU route (:mod:`p2e.suggest.sru_route`) for the rows still without a twin, when
   ``SRU_BASE_URL`` (or its default) is set; SRU failing says so and the collection route's answer stands;
3. open PO lines, only for the rows about to be suggested for delete: the institution's list of
   PO lines that are not closed (100 per call) or one search per record, whichever is fewer calls.

A row whose Action staff already filled in is left as it is.
"""
from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ..alma.errors import AlmaError
from ..alma.records import OPEN_PO_LINE, po_line_bib, po_line_status
from ..config import Settings
from ..ids import mms_id_from_bib_id
from ..intake.headers import identifier_columns
from ..model import Row, Sheet
from .collection import TwinIndex, collection_twins, find_collections
from .evidence import portfolio_from_listing, record_from_bib, staff_identifiers
from .reader import AlmaReader, ReserveReached
from .rules import NONE, WEAK, Portfolio, Record, Suggestion, suggest

log = logging.getLogger("p2e.suggest")

# The SRU route: given the P2E records still without a twin, the twin records it found (confirmed by REST).
SruSearch = Callable[[list[Record]], list[Record]]


@dataclass
class SuggestRun:
    """What the step found: one suggestion per row (by Excel row number), where it looked, what to know."""

    suggestions: dict[int, Suggestion] = field(default_factory=dict)
    searched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    calls: int = 0
    routes: list[str] = field(default_factory=list)


def suggest_sheet(sheet: Sheet, settings: Settings, reader: AlmaReader, *, collections: list[str],
                  sru: SruSearch | None = None, sru_off_reason: str = "") -> SuggestRun:
    """Suggestions for every row of ``sheet`` whose Action is empty (see the module docstring)."""
    run = SuggestRun()
    start = reader.calls
    todo = [row for row in sheet.rows if not row.action_text]
    for row in sheet.rows:
        if row.action_text:
            run.suggestions[row.number] = Suggestion("", "You filled in the Action: left as it is.")
    try:
        _suggest(run, todo, sheet, settings, reader, collections, sru, sru_off_reason)
    except ReserveReached as exc:
        _not_looked_up(run, todo, f"{exc} Put the file in again tomorrow (after midnight UTC).")
    except AlmaError as exc:  # an outage, a refused key, the daily allowance spent: say so, lose nothing
        said = (exc.alma_message or str(exc)).rstrip(". ")
        _not_looked_up(run, todo, f"Alma stopped answering the look-ups ({said}). Put the file in again later; "
                       "nothing was changed in Alma.")
    run.calls = reader.calls - start
    return run


def _not_looked_up(run: SuggestRun, rows: list[Row], note: str) -> None:
    """Every row still to do says why it was not looked up (a half-finished look-up suggests nothing)."""
    run.notes.append(note)
    for row in rows:
        run.suggestions[row.number] = Suggestion(NONE, "Not looked up: " + note)


def _suggest(run: SuggestRun, todo: list[Row], sheet: Sheet, settings: Settings, reader: AlmaReader,
             collections: list[str], sru: SruSearch | None, sru_off_reason: str) -> None:
    columns = identifier_columns(sheet.headers)
    mms_of = _resolve_mms_ids(run, todo, settings, reader)
    bibs = reader.bibs(set(mms_of.values()))
    p2e: dict[int, Record] = {}
    for row in todo:
        mms = mms_of.get(row.number)
        if mms is None:
            continue
        if mms not in bibs:
            run.suggestions[row.number] = Suggestion(NONE, f"Record {mms} was not found in Alma: check the "
                                                     f"{'MMS ID' if row.mms_id else 'BIB_ID'} (it may have been deleted).")
            continue
        record = record_from_bib(bibs[mms])
        record.ids.merge(staff_identifiers(sheet.values_of(row), columns))
        p2e[row.number] = record

    index = TwinIndex()
    if collections:
        found, problems = find_collections(reader, collections)
        run.notes += problems
        if found:
            run.routes.append("collection")
            run.searched += [c.label() for c in found]
            for twin in collection_twins(reader, found):
                index.add(twin)
    if sru is not None:
        rest = [r for n, r in p2e.items() if not _has_strong(index, r)]
        if rest:
            try:
                for twin in sru(rest):
                    index.add(twin)
                run.routes.append("SRU")
                run.searched.append("Alma's SRU search")
            except (AlmaError, OSError, ValueError) as exc:
                message = (f"Alma's SRU search failed ({exc}); only the collection route was used"
                           + (": the rows it did not match say so." if collections else ". Name the collections to "
                              "clean up in the Collections setting, or ask whoever runs the processor to check "
                              "SRU_BASE_URL."))
                log.warning("SRU search failed: %s", exc)
                run.notes.append(message)
    elif sru_off_reason:
        run.notes.append(sru_off_reason)
    searched = " and ".join(run.searched)
    if not run.searched:
        why = ("Not searched: no collection was named and Alma's SRU search is not available. " + (sru_off_reason or "")
               ).strip()
        for number in p2e:
            run.suggestions[number] = Suggestion(NONE, why)
        return

    handling = settings.bib_handling.staff_word
    everywhere = "SRU" in run.routes

    def decide(record: Record, portfolio_id: str | None) -> Suggestion:
        return suggest(record, index.candidates(record.ids), portfolio_id=portfolio_id, searched=searched,
                       bib_handling=handling, everywhere=everywhere)

    for row in todo:
        if row.number in p2e:
            run.suggestions[row.number] = decide(p2e[row.number], row.portfolio_id)
    confirm_targets(run, todo, p2e, index, reader, decide, settings.workers)
    deletes = [n for n in p2e if run.suggestions[n].action == "delete"]
    if deletes:
        orders = _open_orders(reader, {p2e[n].mms_id for n in deletes})
        for n in deletes:
            record = p2e[n]
            record.open_po_lines = orders.get(record.mms_id, [])
            if record.open_po_lines:
                row = next(r for r in todo if r.number == n)
                run.suggestions[n] = decide(record, row.portfolio_id)


def confirm_targets(run: SuggestRun, todo: list[Row], p2e: dict[int, Record], index: TwinIndex, reader: AlmaReader,
                    decide: Callable[[Record, str | None], Suggestion], workers: int = 4) -> None:
    """One REST read of each chosen twin's portfolio not yet read as a portfolio (found through SRU or AVE):
    it must be there, not local, and Available; otherwise the rules run again on what Alma said.

    The reads go ``workers`` at a time through the client's one limiter."""
    rows = {r.number: r for r in todo}
    for _ in range(3):  # a twin whose portfolio Alma does not confirm may leave another one chosen
        pending: dict[tuple[str, str], list[int]] = {}
        for number in p2e:
            chosen = run.suggestions[number]
            if chosen.action in ("delete", "relink") and chosen.target_mms_id and chosen.target_portfolio_id:
                portfolio = _portfolio(index, chosen.target_mms_id, chosen.target_portfolio_id)
                if portfolio is not None and not portfolio.confirmed:
                    pending.setdefault((chosen.target_mms_id, chosen.target_portfolio_id), []).append(number)
        if not pending:
            return
        with ThreadPoolExecutor(max(1, workers)) as pool:
            reads = list(pool.map(lambda key: reader.portfolio(*key), list(pending)))
        for (mms, pid), read in zip(list(pending), reads):
            twin = index.records[mms]
            portfolio = _portfolio(index, mms, pid)
            assert portfolio is not None
            if read is None:
                twin.portfolios.remove(portfolio)
                continue
            fresh = portfolio_from_listing(read, portfolio.collection_name)
            portfolio.available, portfolio.local, portfolio.confirmed = fresh.available, fresh.local, True
            portfolio.collection_id = fresh.collection_id or portfolio.collection_id
            twin.cz_linked = twin.cz_linked or fresh.local is False
        for numbers in pending.values():
            for number in numbers:
                run.suggestions[number] = decide(p2e[number], rows[number].portfolio_id)
    for number, record in p2e.items():  # still not confirmed after three rounds: suggest nothing
        chosen = run.suggestions[number]
        if chosen.action in ("delete", "relink"):
            portfolio = _portfolio(index, chosen.target_mms_id or "", chosen.target_portfolio_id or "")
            if portfolio is None or not portfolio.confirmed:
                run.suggestions[number] = Suggestion(WEAK, "Alma did not confirm the portfolio of the record to keep: "
                                                     "check the twins in Alma.", mms_id=record.mms_id)


def _portfolio(index: TwinIndex, mms_id: str, portfolio_id: str) -> Portfolio | None:
    twin = index.records.get(mms_id)
    return next((p for p in twin.portfolios if p.id == portfolio_id), None) if twin else None


def _has_strong(index: TwinIndex, record: Record) -> bool:
    return any(record.ids.strong_keys() & c.ids.strong_keys() for c in index.candidates(record.ids)
               if c.mms_id != record.mms_id)


def _resolve_mms_ids(run: SuggestRun, rows: list[Row], settings: Settings, reader: AlmaReader) -> dict[int, str]:
    """Each row's P2E MMS ID: given, worked out from the BIB_ID, or looked up by its 035; else a Why saying so."""
    out: dict[int, str] = {}
    for row in rows:
        if row.mms_id:
            out[row.number] = row.mms_id
        elif row.voyager_bib_id and settings.mms_id_suffix and row.voyager_bib_id.isdigit():
            out[row.number] = mms_id_from_bib_id(row.voyager_bib_id, settings.mms_id_suffix)
        elif row.voyager_bib_id and settings.other_system_id_pattern:
            key = settings.other_system_id_pattern.replace("{bib_id}", row.voyager_bib_id)
            hits = reader.bibs_by_other_system_id(key)
            if len(hits) == 1:
                out[row.number] = str(hits[0].get("mms_id"))
            else:
                run.suggestions[row.number] = Suggestion(NONE, f"{'No' if not hits else len(hits)} record{'s' if len(hits) != 1 else ''} "
                                                         f"in Alma {'has' if len(hits) < 2 else 'have'} the 035 {key}: fill in the MMS ID.")
        else:
            run.suggestions[row.number] = Suggestion(NONE, (
                "This row has no MMS ID, and the processor has not been told how to turn a BIB_ID into one: fill in "
                "the MMS ID, or ask whoever runs the processor to set MMS_ID_SUFFIX or OTHER_SYSTEM_ID_PATTERN.")
                if row.voyager_bib_id else "This row has no MMS ID or BIB_ID: nothing to look up.")
    return out


def _open_orders(reader: AlmaReader, mms_ids: set[str]) -> dict[str, list[str]]:
    """Open PO lines of these bibs: the institution's whole open list or one search per bib, whichever is fewer calls."""
    found: dict[str, list[str]] = {}

    def note(po_lines: list[dict]) -> None:
        for pol in po_lines:
            mms = po_line_bib(pol)
            if mms in mms_ids and OPEN_PO_LINE(po_line_status(pol)):
                found.setdefault(mms, []).append(str(pol.get("number") or ""))

    if len(mms_ids) == 1:
        note(reader.po_lines_of(next(iter(mms_ids))))
        return found
    page, total = reader.open_po_lines_page(0)
    pages = math.ceil(total / 100) if total else 1
    if pages <= len(mms_ids):
        note(page)
        offset = len(page)
        while page and offset < total:
            page, total = reader.open_po_lines_page(offset)
            note(page)
            offset += len(page)
    else:
        for mms in sorted(mms_ids):
            note(reader.po_lines_of(mms))
    return found
