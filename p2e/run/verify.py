"""The read-back of deletes, in batches: what Alma now holds, said precisely for each row.

One ``GET /bibs?mms_id=`` per 100 rows: a bib that is gone proves its portfolio is gone too.
Where the bib remains, the portfolio itself is read to prove it is gone, and the bib's state
(kept, suppressed) is explained. A proven delete is written to the journal's ``deleted`` table,
the evidence later runs use to say "Already done".
"""
from __future__ import annotations

from ..alma import records as R
from ..alma.errors import AlmaError, stops_the_run
from ..model import BibHandling, Outcome, RowResult
from . import outcomes as say
from .context import BIB_EXPAND, PendingDelete, RunContext


def verify_deletes(ctx: RunContext, pending: list[PendingDelete]) -> list[RowResult]:
    """Read back every accepted delete and say, precisely, what Alma now holds."""
    if not pending:
        return []
    ids = [p.mms_id for p in pending]
    ctx.forget(ids)
    after = ctx.client.get_bibs(ids, view="full", expand=BIB_EXPAND)
    results = []
    for item in pending:
        with ctx.client.for_row(item.task.row.number):
            try:
                result = _verify_one(ctx, item, after.get(item.mms_id))
            except AlmaError as exc:
                if stops_the_run(exc):
                    raise
                result = RowResult(item.task.row, Outcome.FAILED, say.read_back_failed(item.portfolio_id),
                                   mms_id=item.mms_id, portfolio_id=item.portfolio_id, alma_error=exc.info,
                                   backup=item.backup, step="read back")
        if result.outcome in (Outcome.DONE, Outcome.ALREADY_DONE):
            ctx.journal.mark_deleted(item.portfolio_id, item.mms_id, ctx.run_id, item.task.other_system_id)
        results.append(result)
    return results


def _verify_one(ctx: RunContext, item: PendingDelete, bib: dict | None) -> RowResult:
    pid, mms = item.portfolio_id, item.mms_id
    prefix = f"{item.done_before} " if item.done_before else ""

    def result(outcome: Outcome, text: str, step: str | None = None, bib_state: str | None = None) -> RowResult:
        return RowResult(item.task.row, outcome, prefix + text, mms_id=mms, portfolio_id=pid, backup=item.backup,
                         step=step, bib=bib_state)

    if bib is None:
        # No bib means no portfolio: Alma keeps no portfolio without its bib.
        if item.nz_link:
            return result(Outcome.DONE, say.deleted_with_nz_bib(pid, mms, item.nz_link), bib_state="deleted")
        if item.handling is BibHandling.DELETE:
            return result(Outcome.DONE, say.deleted_with_bib(pid, mms), bib_state="deleted")
        return result(Outcome.DONE, say.deleted_bib_gone_too(pid, mms, item.handling), bib_state="deleted")
    if ctx.client.get_portfolio_or_none(mms, pid) is not None:
        return result(Outcome.FAILED, say.delete_ignored(pid, mms), step="read back")
    if item.handling is BibHandling.RETAIN:
        return result(Outcome.DONE, say.deleted_bib_kept_as_asked(pid, mms), bib_state="kept")
    others = R.other_inventory(bib, pid) if R.has_availability_fields(bib) else []
    why = _why_bib_kept(ctx, item, bib, others)
    if item.handling is BibHandling.SUPPRESS:
        if R.is_suppressed(bib):
            return result(Outcome.DONE, say.deleted_bib_suppressed(pid, mms), bib_state="suppressed")
        return result(Outcome.DONE, say.deleted_bib_not_suppressed(pid, mms, why), bib_state="kept")
    return result(Outcome.DONE, say.deleted_bib_kept(pid, mms, why), bib_state="kept")


def _why_bib_kept(ctx: RunContext, item: PendingDelete, bib: dict, others: list[str]) -> str:
    if others:
        return say.kept_for_other_inventory(others)
    link_type, link = R.bib_link(bib)
    if link_type == "NZ":
        return say.kept_for_nz_link(link)
    open_lines = [R._value(p.get("number")) for p in ctx.client.search_po_lines(item.mms_id, status="ALL")
                  if R.OPEN_PO_LINE(R.po_line_status(p))]
    if open_lines:
        return say.kept_for_open_po_line(open_lines)
    return say.KEPT_NO_REASON
