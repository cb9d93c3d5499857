"""The CARLI checks made before anything is written: each reads Alma and stops the row when it is wrong.

* the row's bib is there and its portfolio is the P2E one (local, standalone), or the journal
  or Alma shows it is already gone;
* no active PO line hangs on a portfolio being deleted (unless ``ACTIVE_POL_POLICY=delete``);
* the record staff keep is there, with an available Community-Zone-linked portfolio;
* for relink, the one PO line to move and the one portfolio to receive it.

A check that fails raises :class:`~p2e.run.outcomes.RowStopped`; one that finds an ID the row
did not give writes it on the :class:`~p2e.run.context.Job`.
"""
from __future__ import annotations

from typing import NoReturn

from ..alma import records as R
from ..alma.errors import AlmaError
from ..model import Action
from . import outcomes as say
from .context import Job, RunContext
from .outcomes import RowStopped


def p2e_records(ctx: RunContext, job: Job) -> tuple[dict, dict, str]:
    """The row's bib, its P2E portfolio and that portfolio's ID, checked; stops the row when either is wrong."""
    bib = ctx.bib(job.mms_id)
    if bib is None:
        _bib_gone(ctx, job)
    if job.portfolio_id:
        pid = job.portfolio_id
        found = ctx.client.get_portfolio_or_none(job.mms_id, pid)
        if found is None:
            evidence = ctx.journal.deleted_by(pid)
            if evidence:
                raise RowStopped(say.portfolio_deleted_earlier(pid, job.mms_id, evidence[1]))
            _gone_elsewhere(ctx, job, pid)
        portfolio = found
    else:
        pid, portfolio = _single_p2e_portfolio(ctx, job)
    if R.is_cz_linked(portfolio):
        raise RowStopped(say.cz_linked_portfolio(pid))
    if not R.is_p2e_portfolio(portfolio):
        collection, name = R.collection_of(portfolio)
        label = f"{name} ({collection})" if name else collection
        raise RowStopped(say.portfolio_in_collection(pid, label))
    return bib, portfolio, pid


def _bib_gone(ctx: RunContext, job: Job) -> NoReturn:
    """The row's bib is not in Alma: deleted by an earlier run (the journal says so), or never there."""
    evidence = ctx.journal.deleted_by(job.portfolio_id) if job.portfolio_id else None
    if job.portfolio_id and evidence:
        raise RowStopped(say.portfolio_and_bib_deleted_earlier(job.portfolio_id, job.mms_id, evidence[1]))
    on_bib = ctx.journal.deleted_on_bib(job.mms_id) if not job.portfolio_id else None
    if on_bib:  # the row gave no portfolio ID (a Voyager bib ID only, say): the journal knows the bib
        job.portfolio_id = on_bib[0]
        raise RowStopped(say.portfolio_and_bib_deleted_earlier(on_bib[0], job.mms_id, on_bib[2]))
    raise RowStopped(say.no_bib(job.mms_id))


def _gone_elsewhere(ctx: RunContext, job: Job, pid: str) -> NoReturn:
    """The row's portfolio is not on its bib, and this installation did not delete it: say what Alma holds.

    Deleted earlier by hand, by Alma's job or by another tool: when no standalone local portfolio
    remains on the bib, a delete row is already done; when one remains, the row names it.
    """
    left = [str(p.get("id")) for p in ctx.client.list_portfolios(job.mms_id) if R.is_p2e_portfolio(p)]
    if left:
        raise RowStopped(say.portfolio_not_on_bib_but_another(pid, job.mms_id, ", ".join(left[:5]), left[0]))
    if job.action is Action.RELINK:
        raise RowStopped(say.nothing_to_relink_from(pid, job.mms_id))
    raise RowStopped(say.deleted_outside_the_processor(pid, job.mms_id))


def _single_p2e_portfolio(ctx: RunContext, job: Job) -> tuple[str, dict]:
    """The bib's one standalone local portfolio (its ID and record), when the row gave no portfolio ID."""
    candidates = [p for p in ctx.client.list_portfolios(job.mms_id) if R.is_p2e_portfolio(p)]
    if not candidates:
        on_bib = ctx.journal.deleted_on_bib(job.mms_id)
        if on_bib:
            job.portfolio_id = on_bib[0]
            raise RowStopped(say.portfolio_deleted_earlier(on_bib[0], job.mms_id, on_bib[2]))
        raise RowStopped(say.no_p2e_portfolio(job.mms_id))
    if len(candidates) > 1:
        ids = ", ".join(str(p.get("id")) for p in candidates)
        raise RowStopped(say.several_p2e_portfolios(job.mms_id, len(candidates), ids))
    pid = job.portfolio_id = str(candidates[0].get("id"))
    return pid, ctx.client.get_portfolio(job.mms_id, pid)


def po_line_of(ctx: RunContext, pid: str, portfolio: dict) -> dict | None:
    """The portfolio's PO line, read; an active one stops a delete unless ACTIVE_POL_POLICY=delete."""
    number = R.po_line_number(portfolio)
    if not number:
        return None
    try:
        po_line = ctx.client.get_po_line(number)
    except AlmaError as exc:
        if exc.not_found:
            return None
        raise
    status = R.po_line_status(po_line)
    if R.OPEN_PO_LINE(status) and ctx.settings.active_pol_policy == "skip":
        raise RowStopped(say.active_po_line(pid, number, status))
    return po_line


def kept_record(ctx: RunContext, job: Job) -> dict | None:
    """The record staff keep must exist and have an available Community-Zone-linked portfolio."""
    if not job.target_mms_id:
        return None
    target_mms = job.target_mms_id
    target = ctx.bib(target_mms)
    if target is None:
        raise RowStopped(say.target_not_in_alma(target_mms))
    link_type, _ = R.bib_link(target)
    if job.target_portfolio_id:
        target_pid = job.target_portfolio_id
        if link_type == "CZ" and any(ave.get("8") == target_pid for ave in R.available_portfolios(target)):
            return None  # the AVE fields read with the bib show that portfolio active on a CZ-linked record
        portfolio = ctx.client.get_portfolio_or_none(target_mms, target_pid)
        if portfolio is None:
            raise RowStopped(say.target_portfolio_not_on_target(target_pid, target_mms))
        if not (R.is_cz_linked(portfolio) and R.is_available(portfolio)):
            raise RowStopped(say.target_portfolio_not_active(target_pid))
        return portfolio
    if link_type == "CZ" and R.available_portfolios(target):
        return None  # the AVE fields read with the bib show an active portfolio on a CZ-linked record
    return _target_candidates(ctx, target_mms)[0]


def _target_candidates(ctx: RunContext, target_mms: str) -> list[dict]:
    """The kept record's available Community-Zone-linked portfolios; stops the row if there is none."""
    candidates = [p for p in ctx.client.list_portfolios(target_mms) if R.is_cz_linked(p) and R.is_available(p)]
    if not candidates:
        raise RowStopped(say.target_without_active_portfolio(target_mms))
    return candidates


def receiving_portfolio(ctx: RunContext, job: Job, target_mms: str) -> str:
    """The ID of the portfolio that receives the PO line: the row's (checked), or the kept record's only active CZ one."""
    if job.target_portfolio_id:
        kept_record(ctx, job)
        return job.target_portfolio_id
    candidates = _target_candidates(ctx, target_mms)
    if len(candidates) > 1:
        ids = ", ".join(str(p.get("id")) for p in candidates)
        raise RowStopped(say.several_target_portfolios(target_mms, len(candidates), ids))
    target_pid = job.target_portfolio_id = str(candidates[0].get("id"))
    return target_pid


def po_line_to_move(ctx: RunContext, job: Job, pid: str, portfolio: dict) -> tuple[str, dict]:
    """The PO line to move (its number and record): the row's, the portfolio's, or the one found by MMS ID."""
    number = job.po_line or R.po_line_number(portfolio)
    if not number:
        found = [p for p in ctx.client.search_po_lines(job.mms_id) if R.po_line_status(p) != "CANCELLED"]
        if not found:
            raise RowStopped(say.no_po_line_to_relink(pid, job.mms_id))
        if len(found) > 1:
            ids = ", ".join(R._value(p.get("number")) for p in found)
            raise RowStopped(say.several_po_lines(job.mms_id, len(found), ids))
        number = R._value(found[0].get("number"))
    job.po_line = number
    try:
        return number, ctx.client.get_po_line(number)
    except AlmaError as exc:
        if exc.not_found:
            raise RowStopped(say.po_line_not_in_alma(number, exc.info)) from None
        raise
