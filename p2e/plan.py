"""Plan: one task per row, with every ID and choice resolved from the row and the settings.

No network here. A row that gives only the Voyager bib ID gets its MMS ID from the
configured rule (``MMS_ID_SUFFIX``: ``99`` + bib ID + suffix) or a lookup key for
``GET /bibs?other_system_id=`` (``OTHER_SYSTEM_ID_PATTERN``); either way the run confirms
the bib in Alma before anything is written.
"""
from __future__ import annotations

from .actions import Task
from .config import Settings
from .ids import mms_id_from_bib_id
from .model import Action, Sheet


def plan(sheet: Sheet, settings: Settings) -> list[Task]:
    tasks = []
    for row in sheet.rows:
        if row.action is None:
            continue  # validation refuses such a file; nothing to plan
        task = Task(
            row=row,
            action=row.action,
            mms_id=row.mms_id,
            portfolio_id=row.portfolio_id,
            target_mms_id=row.target_mms_id,
            target_portfolio_id=row.target_portfolio_id,
            po_line=row.po_line,
            bib_handling=row.bib_handling or settings.bib_handling,
        )
        if not task.mms_id and row.voyager_bib_id and row.action is not Action.KEEP:
            if settings.mms_id_suffix:
                task.mms_id = mms_id_from_bib_id(row.voyager_bib_id, settings.mms_id_suffix)
                task.mms_id_source = "rule"
            elif settings.other_system_id_pattern:
                task.other_system_id = settings.other_system_id_pattern.replace("{bib_id}", row.voyager_bib_id)
                task.mms_id_source = "other_system_id"
        tasks.append(task)
    return tasks
