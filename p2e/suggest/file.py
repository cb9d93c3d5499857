"""One staff file through the suggestion step: is it a suggestion request, and its annotated workbook.

A file is a suggestion request when its Settings sheet says Mode = Suggest, or when no row has
anything in its Action cell (a raw P2E report has no Action column at all). The answer goes to the
outbox as ``<file> - SUGGESTED <date>.xlsx``; :func:`p2e.pipeline.process_file` calls
:func:`suggest_workbook` and mails it like a results workbook.

The collections come from ``--collection`` (the command line), else the Settings sheet's
Collections; the SRU route runs when ``SRU_BASE_URL`` (or its default, see
:func:`p2e.config.Settings.sru_address`) is known.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..alma.audit import AuditLog
from ..alma.client import AlmaClient
from ..config import Settings
from ..model import Mode, Sheet
from ..names import results_name, safe_file_name, unique_path
from .annotate import SuggestInfo, tally, write_annotated
from .reader import AlmaReader
from .step import SuggestRun, suggest_sheet
from .sru_route import sru_search


def no_actions(sheet: Sheet) -> bool:
    """No row has anything in its Action cell (or there is no Action column): a suggestion request, never an error."""
    return not any(row.action_text for row in sheet.rows)


def wants_suggestions(sheet: Sheet, preview: bool | None = None) -> bool:
    """No Action filled in; or Mode = Suggest, unless ``--preview`` was asked for (it wins, as for every Mode)."""
    return no_actions(sheet) or (sheet.mode is Mode.SUGGEST and preview is None)


@dataclass
class Suggested:
    """The annotated workbook and what the step found, for the pipeline's outcome and the email."""

    path: Path
    run: SuggestRun
    audit_path: Path | None = None

    def summary(self, source_name: str) -> str:
        counts = tally(self.run.suggestions)
        strong = {a: n for (a, m), n in counts.items() if m == "strong"}
        weak = sum(n for (a, m), n in counts.items() if m == "weak")
        keep = counts.get(("keep", "none"), 0)
        lines = [f"Suggestions for {source_name}: {len(self.run.suggestions)} rows - "
                 f"{strong.get('delete', 0)} delete, {strong.get('relink', 0)} relink (strong matches), {keep} keep, "
                 f"{weak} to check (weak matches). Nothing was changed in Alma."]
        lines += [f"  - {note}" for note in self.run.notes[:5]]
        lines.append("Review the rows, set Mode to Preview on the Settings sheet, and put the file in the inbox again.")
        return "\n".join(lines)


def suggest_workbook(path: Path, sheet: Sheet, settings: Settings, *, collections: list[str] | None = None,
                     client: AlmaClient | None = None) -> Suggested:
    """Look up every row of ``sheet`` (reads only) and write the annotated workbook to the outbox.

    Every call is logged in ``OUTBOX_DIR/audit/<file> - suggest <time>.jsonl`` (SRU calls are not: they go
    through the same limiter but not through the REST client's log). ``client``: share its limiter."""
    started = datetime.now()
    audit = AuditLog(settings.outbox_dir / "audit" / safe_file_name(path.stem, f" - suggest {started:%Y%m%d-%H%M%S}",
                                                                    ".jsonl"), settings.secrets())
    # Always a client of its own, made read-only: a client handed in (to share its limiter) is never changed.
    own = AlmaClient.from_settings(settings, read_only=True, pool_size=settings.workers + 4, audit=audit,
                                   limiter=client.limiter if client is not None else None)
    reader = AlmaReader(own, reserve=settings.daily_reserve)
    try:
        sru, off = sru_search(settings, reader)
        run = suggest_sheet(sheet, settings, reader, collections=list(collections or sheet.collections),
                            sru=sru, sru_off_reason=off)
    finally:
        own.close()
        audit.close()
    finished = datetime.now()
    target = unique_path(settings.outbox_dir, results_name(path.name, "SUGGESTED", finished), ".xlsx")
    info = SuggestInfo(path.name, settings.alma_description(), started, finished, run.searched, run.notes, run.calls)
    write_annotated(target, sheet, run.suggestions, info)
    return Suggested(target, run, audit.path)
