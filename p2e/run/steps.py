"""The steps a row is made of: find its MMS ID, back up, write-and-prove, delete, and resume after a crash.

Every write follows the journal's protocol: ``ctx.fence()`` (stop if another watcher holds
the inbox now), the step journalled 'started', the call, then 'done' once Alma answered
('refused' when Alma said no). A step left 'started' by a crash or an outage is settled on
resume by reading Alma, never by sending the write twice (:func:`resume_pending`).
"""
from __future__ import annotations

import copy
from typing import Callable

from ..alma import records as R
from ..alma.errors import AlmaError, AlmaErrorInfo, AlmaUnavailable, stops_the_run
from ..model import BibHandling, Task
from . import outcomes as say
from .context import Job, PendingDelete, RunContext
from .outcomes import RowStopped, Stop

DELETE_STEP = "delete_portfolio"


def resolve(ctx: RunContext, task: Task) -> Job:
    """The task with its MMS ID: the row's or the rule's, or found by the old catalogue number (035) in Alma."""
    if task.mms_id:
        return Job(task, mms_id=task.mms_id)
    if not task.other_system_id:
        # A row with a Portfolio ID only: validation refuses it (Alma reaches a portfolio through its bib).
        # Should one get here all the same, Alma is asked for bib "None" and the row ends Skipped.
        return Job(task, mms_id=str(task.mms_id))
    osid = task.other_system_id
    matches = ctx.client.find_bibs_by_other_system_id(osid)
    if not matches:
        evidence = ctx.journal.deleted_by_other_system_id(osid)
        if evidence:
            pid, mms, _run, when = evidence
            raise RowStopped(say.deleted_earlier_by_old_number(pid, mms, osid, when),
                             mms_id=mms, portfolio_id=task.portfolio_id or pid)
        raise RowStopped(say.no_bib_with_old_number(osid))
    if len(matches) > 1:
        ids = ", ".join(str(b.get("mms_id")) for b in matches[:5])
        raise RowStopped(say.several_bibs_with_old_number(len(matches), osid, ids))
    return Job(task, mms_id=str(matches[0].get("mms_id")))


def back_up(ctx: RunContext, job: Job, **records: dict | None) -> str | None:
    """Save every record about to change, exactly as Alma returned it, plus the row's manifest.

    A preview changes nothing, so it saves nothing."""
    if ctx.preview:
        return None
    idents = {"bib": job.mms_id, "portfolio": job.portfolio_id, "target_portfolio": job.target_portfolio_id}
    saved = {kind.replace("_", "-"): (idents.get(kind) or R._value(record.get("number")) or kind, record)
             for kind, record in records.items() if record is not None}
    manifest = {
        "run_id": ctx.run_id, "row": job.row.number, "action": job.action.value, "mms_id": job.mms_id,
        "portfolio_id": job.portfolio_id, "po_line": job.po_line, "target_mms_id": job.target_mms_id,
        "target_portfolio_id": job.target_portfolio_id, "bib_handling": job.bib_handling.value,
    }
    return str(ctx.backups.save_row(job.row.number, manifest, saved))


def delete_portfolio(ctx: RunContext, job: Job, pid: str, bib: dict, backup: str | None,
                     done_before: str = "") -> PendingDelete:
    """Send the portfolio's delete (``bib=delete|suppress|retain``), journalled; read back later in a batch."""
    link_type, link = R.bib_link(bib)
    pending = PendingDelete(job.task, job.mms_id, pid, job.bib_handling, done_before,
                            nz_link=link if link_type == "NZ" else "", backup=backup)
    detail = {"mms_id": pending.mms_id, "portfolio_id": pending.portfolio_id, "handling": pending.handling.value,
              "done_before": done_before, "nz_link": pending.nz_link, "backup": backup}
    journaled(ctx, job, DELETE_STEP, detail,
              send=lambda: ctx.client.delete_portfolio(job.mms_id, pid, bib=job.bib_handling.value),
              refused=lambda info: say.delete_refused(done_before, pid, job.mms_id, info, backup))
    return pending


def journaled(ctx: RunContext, job: Job, step: str, detail: dict, *, send: Callable[[], object],
              refused: Callable[[AlmaErrorInfo], Stop]) -> None:
    """One write under the journal's protocol (see the module's docstring); ``refused`` words Alma's no."""
    ctx.fence()
    ctx.journal.step_started(ctx.run_id, job.row.number, step, detail)
    try:
        send()
    except AlmaUnavailable:
        raise  # no answer: the write may have happened; the step stays 'started' and a read settles it on resume
    except AlmaError as exc:
        ctx.journal.step_refused(ctx.run_id, job.row.number, step)
        if stops_the_run(exc):
            raise
        raise RowStopped(refused(exc.info)) from None
    ctx.journal.step_done(ctx.run_id, job.row.number, step)


def resume_pending(ctx: RunContext, job: Job, step: str = DELETE_STEP) -> PendingDelete | None:
    """After a crash: a delete this run already sent is read back, never sent twice.

    'done' means Alma accepted it; 'started' means the process died around the call, so the
    portfolio is read: gone means the delete happened, still there means it never left.
    """
    found = ctx.journal.step(ctx.run_id, job.row.number, step)
    if not found or found[0] == "refused":
        return None
    state, detail = found
    if state == "started" and ctx.client.get_portfolio_or_none(detail["mms_id"], detail["portfolio_id"]) is not None:
        return None  # the delete never reached Alma: do the row again, checks first
    job.portfolio_id = job.portfolio_id or detail.get("portfolio_id")
    return PendingDelete(job.task, detail["mms_id"], detail["portfolio_id"], BibHandling(detail["handling"]),
                         detail.get("done_before", ""), detail.get("nz_link", ""), detail.get("backup"))


def write_and_prove(ctx: RunContext, job: Job, step: str, backup: str | None, *, send: Callable[[], object],
                    proven: Callable[[], bool], refused: str, ignored: Callable[[], str], label: str) -> None:
    """Send one write, then read it back: Alma may answer 200 and change nothing."""
    _write_step(ctx, job, step, backup, send, failure=refused)
    if not proven():
        raise RowStopped(say.write_ignored(ignored(), backup, label))


def _write_step(ctx: RunContext, job: Job, step: str, backup: str | None, send: Callable[[], object],
                failure: str) -> None:
    journaled(ctx, job, step, {"po_line": job.po_line, "target": job.target_mms_id}, send=send,
              refused=lambda info: say.write_refused(failure, info, backup, step))


def move_po_line(ctx: RunContext, job: Job, number: str, po_line: dict, target_mms: str, backup: str | None) -> None:
    """Change the PO line's bib reference ("Change Bib Reference"), then read it back."""
    if R.po_line_bib(po_line) == target_mms:
        return
    changed = copy.deepcopy(po_line)
    changed.setdefault("resource_metadata", {})["mms_id"] = {"value": target_mms}
    seen: dict[str, str | None] = {}

    def po_line_moved() -> bool:
        seen["bib"] = R.po_line_bib(ctx.client.get_po_line(number))
        return seen["bib"] == target_mms

    write_and_prove(
        ctx, job, "relink_po_line", backup,
        send=lambda: ctx.client.update_po_line(number, changed, verify=po_line_moved), proven=po_line_moved,
        refused=say.po_line_change_refused(number, job.mms_id),
        ignored=lambda: say.po_line_change_ignored(number, seen.get("bib"), target_mms),
        label="change the PO line's bib reference")


def attach_po_line(ctx: RunContext, job: Job, number: str, target: dict, target_mms: str, target_pid: str,
                   pid: str, backup: str | None) -> None:
    """Attach the PO line to the kept record's portfolio (the Acquisition tab), then read it back."""
    if R.po_line_number(target) == number:
        return
    attached = copy.deepcopy(target)
    attached["po_line"] = {"value": number}

    def attached_to_target() -> bool:
        return R.po_line_number(ctx.client.get_portfolio(target_mms, target_pid)) == number

    write_and_prove(
        ctx, job, "attach_po_line", backup,
        send=lambda: ctx.client.update_portfolio(target_mms, target_pid, attached, verify=attached_to_target),
        proven=attached_to_target,
        refused=say.attach_refused(number, target_mms, target_pid, pid),
        ignored=lambda: say.attach_ignored(number, target_mms, target_pid, pid),
        label="attach the PO line to the portfolio you keep")
