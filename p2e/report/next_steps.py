"""The "Next steps in Alma" sheet: linking each grouped collection to the Community Zone, by hand.

No published API links local portfolios to the Community Zone: Alma does it in its own screens, one
collection at a time, with the choice to keep the local bib records (CARLI's fourth scenario, "Link
ILS-migrated P2E portfolios to CZ but retain ILS-migrated bib records"). So a results workbook with
group rows gets this sheet: per collection, its ID and name filled in, how many portfolios are in it
now, and the steps left for a person. The same rows' portfolio IDs are in a set-ready file beside
the results (:mod:`p2e.report.id_sets`).

>>> from p2e.model import Grouped, Outcome, Row, RowResult
>>> done = RowResult(Row(2, []), Outcome.DONE, "", grouped=Grouped("611", "P2E e-books", "621", "531", "532"))
>>> [(c.collection_id, c.grouped) for c in collections_of([done])]
[('611', 1)]
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..model import Outcome, RowResult

SHEET = "Next steps in Alma"
LINKED_OUTCOMES = (Outcome.DONE, Outcome.ALREADY_DONE)


@dataclass
class CollectionSteps:
    collection_id: str
    name: str
    service_id: str
    grouped: int = 0  # portfolios in the collection now (Done, Already done)
    waiting: int = 0  # group rows not done yet (Preview, Skipped, Failed, Not run)
    created: bool = False


def collections_of(results: Iterable[RowResult]) -> list[CollectionSteps]:
    """One entry per collection the group rows name, in the order they first appear."""
    found: dict[str, CollectionSteps] = {}
    for result in results:
        place = result.grouped
        if place is None:
            continue
        key = place.collection_id or place.collection_name.lower()
        entry = found.setdefault(key, CollectionSteps(place.collection_id, place.collection_name, place.service_id))
        entry.created = entry.created or place.created_collection
        if result.outcome in LINKED_OUTCOMES:
            entry.grouped += 1
        else:
            entry.waiting += 1
    return list(found.values())


def steps_for(entry: CollectionSteps, portfolio_file: str) -> list[str]:
    """The steps for one collection, with its ID and name filled in."""
    label = f"collection {entry.collection_id} ('{entry.name}')" if entry.collection_id else \
        f"collection '{entry.name}' (not created yet: this was a preview)"
    steps = [
        f"In Alma, search Electronic Collections for {label} and open it. Check that its portfolios are there: "
        f"{entry.grouped} were grouped into it by this file" + (f" ({portfolio_file} lists them; upload it as an "
                                                                 "itemized set of portfolios to compare)." if
                                                                 entry.grouped and portfolio_file else "."),
        f"Find the Community Zone collection that matches '{entry.name}' (the same provider and package), and "
        "note its ID.",
        "Link the local collection to that Community Zone collection, as Ex Libris's 'Post migration clean-up of "
        "eResources in Alma' describes (section 'Link ILS Migrated P2E Portfolios to CZ'). Alma does this in its "
        "own screens only; no API does it.",
        "When Alma asks what to do with the local bibliographic records, choose to keep them: this scenario keeps "
        "the ILS-migrated bib records.",
        "When Alma's job has finished (Monitor Jobs), open the collection again and check that its portfolios are "
        "now linked to the Community Zone.",
    ]
    if entry.waiting:
        steps.append(f"{entry.waiting} group row(s) for this collection are not done yet: see the Needs attention "
                     "sheet, and run the file again once they are put right.")
    return steps


def write_next_steps(workbook, fmt: dict, results: Iterable[RowResult], portfolio_file: str = "") -> bool:
    """Add the sheet when any row is a group row; True when it was added."""
    entries = collections_of(results)
    if not entries:
        return False
    ws = workbook.add_worksheet(SHEET)
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 110, fmt["wrap"])
    ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.write_string(0, 0, "Next steps in Alma: link these collections to the Community Zone", fmt["title"])
    ws.write_string(1, 0, "The processor has done what Alma's API allows. Linking a local collection to the "
                          "Community Zone is done in Alma's own screens, one collection at a time.")
    row = 3
    for entry in entries:
        name = f"Collection {entry.collection_id or '(to be created)'}: {entry.name}"
        if entry.service_id:
            name += f" (service {entry.service_id})"
        if entry.created:
            name += ", created by this run"
        ws.write_string(row, 0, name, fmt["bold"])
        row += 1
        for number, text in enumerate(steps_for(entry, portfolio_file), start=1):
            ws.set_row(row, 15 * max(1, -(-len(text) // 105)) + 3)  # before the cells: rows stream to disk
            ws.write_number(row, 0, number)
            ws.write_string(row, 1, text, fmt["wrap"])
            row += 1
        row += 1
    return True
