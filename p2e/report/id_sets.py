"""Set-ready ID files beside the results: the rows that need a person, as Alma's itemized sets take them.

Alma builds an itemized set from a plain text file whose first line names the ID kind: ``Portfolio ID``
(electronic portfolios) or ``MMS ID`` (titles). So, for every run, the rows someone must look at in
Alma are written that way, and staff upload them as sets instead of searching again:

* **groups to link**: the portfolios group rows put into a local collection (see the Next steps in
  Alma sheet);
* **active order**: rows skipped because the P2E portfolio has an active PO line;
* **refused by Alma**: rows Alma refused (Failed, with Alma's error).

A row with a portfolio ID goes in the Portfolio ID file of its kind; one with only an MMS ID in the
MMS ID file. Only kinds that have rows get a file. Names come from the results workbook's name
(:func:`p2e.names.safe_file_name`), and no file is ever overwritten.

>>> from p2e.model import Outcome, Row, RowResult
>>> skipped = RowResult(Row(2, []), Outcome.SKIPPED, "", mms_id="991", portfolio_id="531", step=ACTIVE_ORDER_STEP)
>>> kind_of(skipped)
'active order'

"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..model import ACTIVE_ORDER_STEP, Outcome, RowResult
from ..names import STEM_BYTES, safe_file_name, unique_path

KINDS = {  # kind -> words in the file name
    "groups to link": "portfolios to link to the Community Zone",
    "active order": "skipped with an active order",
    "refused by Alma": "refused by Alma",
}


@dataclass
class IdSet:
    kind: str
    header: str  # Portfolio ID | MMS ID
    ids: list[str]
    path: Path | None = None


def kind_of(result: RowResult) -> str | None:
    """Which set a row belongs in, if it needs a person."""
    if result.grouped is not None and result.outcome in (Outcome.DONE, Outcome.ALREADY_DONE):
        return "groups to link"
    if result.outcome is Outcome.SKIPPED and result.step == ACTIVE_ORDER_STEP:
        return "active order"
    if result.outcome is Outcome.FAILED and result.alma_error is not None:
        return "refused by Alma"
    return None


def plan_id_sets(results_path: Path, results: Iterable[RowResult]) -> list[IdSet]:
    """The files to write beside ``results_path`` (names not taken yet), each with its header and IDs."""
    sets: dict[tuple[str, str], list[str]] = {}
    for result in results:
        kind = kind_of(result)
        if kind is None:
            continue
        if result.portfolio_id:
            sets.setdefault((kind, "Portfolio ID"), []).append(result.portfolio_id)
        elif result.mms_id:
            sets.setdefault((kind, "MMS ID"), []).append(result.mms_id)
    planned = []
    for kind in KINDS:
        for header in ("Portfolio ID", "MMS ID"):
            ids = list(dict.fromkeys(sets.get((kind, header), [])))
            if ids:
                stem = safe_file_name(results_path.stem, f" - set {KINDS[kind]} ({header}s)", limit=STEM_BYTES)
                planned.append(IdSet(kind, header, ids, unique_path(results_path.parent, stem, ".txt")))
    return planned


def write_id_sets(planned: list[IdSet]) -> list[Path]:
    """Write each planned file: its header line, then one ID a line."""
    written = []
    for item in planned:
        assert item.path is not None
        item.path.write_text(item.header + "\n" + "\n".join(item.ids) + "\n", encoding="utf-8")
        written.append(item.path)
    return written
