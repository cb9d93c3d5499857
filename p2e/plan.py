"""Plan: one task per row, with every ID and choice resolved from the row and the settings.

No network here. A row that gives only the Voyager bib ID gets its MMS ID from the
configured rule (``MMS_ID_SUFFIX``: ``99`` + bib ID + suffix) or a lookup key for
``GET /bibs?other_system_id=`` (``OTHER_SYSTEM_ID_PATTERN``); either way the run confirms
the bib in Alma before anything is written.
"""
from __future__ import annotations

from .config import Settings
from .ids import mms_id_from_bib_id
from .model import Action, Row, Sheet, Task


def plan(sheet: Sheet, settings: Settings) -> list[Task]:
    """One task per row that has an action (validation refuses a file with any other row)."""
    return [_task(row, row.action, settings) for row in sheet.rows if row.action is not None]


def _task(row: Row, action: Action, settings: Settings) -> Task:
    mms_id, other_system_id, source = row.mms_id, None, "sheet"
    if not mms_id and row.voyager_bib_id and action is not Action.KEEP:
        if settings.mms_id_suffix:
            mms_id, source = mms_id_from_bib_id(row.voyager_bib_id, settings.mms_id_suffix), "rule"
        elif settings.other_system_id_pattern:
            other_system_id = settings.other_system_id_pattern.replace("{bib_id}", row.voyager_bib_id)
            source = "other_system_id"
    return Task(
        row=row,
        action=action,
        mms_id=mms_id,
        portfolio_id=row.portfolio_id,
        target_mms_id=row.target_mms_id,
        target_portfolio_id=row.target_portfolio_id,
        po_line=row.po_line,
        bib_handling=row.bib_handling or settings.bib_handling,
        other_system_id=other_system_id,
        mms_id_source=source,
        collection=row.collection if action is Action.GROUP else None,
        service=row.service if action is Action.GROUP else None,
    )
