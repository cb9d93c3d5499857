"""delete, relink and keep (and group, in :mod:`p2e.run.group`): CARLI's guide, one row at a time.

Each action is a short sequence of checks (:mod:`p2e.run.checks`) and steps
(:mod:`p2e.run.steps`) in the order the guide gives:

* **delete** - check that the portfolio is the P2E one (local, standalone), that no active
  PO line hangs on it, and that the record being kept is really there; back up; delete the
  portfolio with ``bib=delete|suppress|retain``; then read back what Alma did.
* **relink** - move the PO line to the Community-Zone-linked record ("Change Bib
  Reference"), attach it to that record's portfolio (the portfolio editor's Acquisition
  tab), then delete the P2E portfolio and bib as delete does. Every write is read back.
* **keep** - nothing changes.

An action never does more than its row asks. A check that fails stops the row with a
plain-English reason; a write that fails stops it with what Alma said, the state the
records are in now and the manual step left. The final read-back of deletes is done in
batches by :func:`p2e.run.verify.verify_deletes`.
"""
from __future__ import annotations

from ..alma.errors import AlmaError, stops_the_run
from ..model import Action, Outcome, RowResult, Task
from . import checks, steps
from . import outcomes as say
from .context import Job, PendingDelete, RowInterrupted, RunContext
from .group import group
from .outcomes import RowStopped


def run_task(ctx: RunContext, task: Task) -> RowResult | PendingDelete:
    """Do one row's work. Returns its result, or a :class:`PendingDelete` still to be read back.

    Raises :class:`RowInterrupted` for what stops every row (daily allowance, outage, refused key).
    """
    job: Job | None = None
    with ctx.client.for_row(task.row.number):
        try:
            if task.action is Action.KEEP:
                return keep(task)
            job = steps.resolve(ctx, task)
            if task.action is Action.GROUP:
                return group(ctx, job)
            return delete(ctx, job) if task.action is Action.DELETE else relink(ctx, job)
        except RowStopped as stop:
            mms_id = stop.mms_id or (job.mms_id if job else task.mms_id)
            portfolio_id = stop.portfolio_id or (job.portfolio_id if job else task.portfolio_id)
            s = stop.stop
            return RowResult(task.row, s.outcome, s.details, mms_id=mms_id, portfolio_id=portfolio_id,
                             alma_error=s.alma_error, backup=s.backup, step=s.step, grouped=stop.grouped)
        except AlmaError as exc:
            mms_id, portfolio_id = (job.mms_id, job.portfolio_id) if job else (task.mms_id, task.portfolio_id)
            if stops_the_run(exc):  # the daily allowance, an outage, a refused key: the engine stops every row alike
                raise RowInterrupted(exc, mms_id, portfolio_id) from exc
            return RowResult(task.row, Outcome.FAILED, say.refused_call(exc.method, exc.path),
                             mms_id=mms_id, portfolio_id=portfolio_id, alma_error=exc.info)


def keep(task: Task) -> RowResult:
    """keep: nothing changes in Alma."""
    return RowResult(task.row, Outcome.KEPT, say.KEPT, mms_id=task.mms_id, portfolio_id=task.portfolio_id)


def delete(ctx: RunContext, job: Job) -> RowResult | PendingDelete:
    """delete: check the P2E records, the PO line and the record kept; back up; delete the portfolio."""
    resumed = steps.resume_pending(ctx, job)
    if resumed:
        return resumed
    bib, portfolio, pid = checks.p2e_records(ctx, job)
    po_line = checks.po_line_of(ctx, pid, portfolio)
    checks.kept_record(ctx, job)
    backup = steps.back_up(ctx, job, bib=bib, portfolio=portfolio, po_line=po_line)
    if ctx.preview:
        return RowResult(job.row, Outcome.PREVIEW, say.would_delete(pid, job.mms_id, job.bib_handling, bib),
                         mms_id=job.mms_id, portfolio_id=pid, backup=backup)
    return steps.delete_portfolio(ctx, job, pid, bib, backup)


def relink(ctx: RunContext, job: Job) -> RowResult | PendingDelete:
    """relink: move the PO line to the record kept, attach it to its portfolio, then delete as delete does."""
    resumed = steps.resume_pending(ctx, job)
    if resumed:
        return resumed
    bib, portfolio, pid = checks.p2e_records(ctx, job)
    target_mms = job.target_mms_id
    if target_mms is None or ctx.bib(target_mms) is None:
        raise RowStopped(say.target_not_in_alma(str(target_mms)))
    number, po_line = checks.po_line_to_move(ctx, job, pid, portfolio)
    target_pid = checks.receiving_portfolio(ctx, job, target_mms)
    # The full portfolio, read just before it is changed (Alma's PUT replaces the whole record).
    target = ctx.client.get_portfolio(target_mms, target_pid)
    backup = steps.back_up(ctx, job, bib=bib, portfolio=portfolio, po_line=po_line, target_portfolio=target)
    if ctx.preview:
        text = say.would_relink(number, target_mms, target_pid,
                                say.would_delete(pid, job.mms_id, job.bib_handling, bib, prefix="delete"))
        return RowResult(job.row, Outcome.PREVIEW, text, mms_id=job.mms_id, portfolio_id=pid, backup=backup)
    steps.move_po_line(ctx, job, number, po_line, target_mms, backup)
    steps.attach_po_line(ctx, job, number, target, target_mms, target_pid, pid, backup)
    done = say.relinked(number, target_mms, target_pid)
    return steps.delete_portfolio(ctx, job, pid, bib, backup, done_before=done)
