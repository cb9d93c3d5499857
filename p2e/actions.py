"""delete, relink and keep: what CARLI's guide tells staff to do by hand, one row at a time.

Each action is a short sequence of client calls in the order the guide gives:

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
batches by :func:`verify_deletes` (one ``GET /bibs?mms_id=`` per 100 rows).
"""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Callable

from . import records as R
from .alma.client import AlmaClient
from .alma.errors import AlmaError, AlmaUnavailable, stops_the_run
from .backup import BackupStore
from .config import Settings
from .journal import Journal
from .model import Action, AlmaErrorInfo, BibHandling, Outcome, Row, RowResult

BIB_EXPAND = "p_avail,e_avail"


@dataclass
class Task:
    """One row's work, with every ID it touches resolved from the row and the settings."""

    row: Row
    action: Action
    mms_id: str | None = None
    portfolio_id: str | None = None
    target_mms_id: str | None = None
    target_portfolio_id: str | None = None
    po_line: str | None = None
    bib_handling: BibHandling = BibHandling.DELETE
    other_system_id: str | None = None  # look the MMS ID up by this (035) when the row has none
    mms_id_source: str = "sheet"  # sheet | rule | other_system_id

    def keys(self) -> set[str]:
        """The records this task touches; tasks sharing one run one after another."""
        keys = set()
        for prefix, value in (("bib", self.mms_id), ("bib", self.target_mms_id), ("portfolio", self.portfolio_id),
                              ("portfolio", self.target_portfolio_id), ("pol", self.po_line),
                              ("osid", self.other_system_id)):
            if value:
                keys.add(f"{prefix}:{value}")
        return keys


class RowStopped(Exception):
    """Ends a row early with a result (a failed check, an Alma refusal)."""

    def __init__(self, result_kwargs: dict):
        super().__init__(result_kwargs.get("details", ""))
        self.result_kwargs = result_kwargs


@dataclass
class PendingDelete:
    """A portfolio delete that Alma accepted and that still has to be read back."""

    task: Task
    mms_id: str
    portfolio_id: str
    handling: BibHandling
    done_before: str = ""  # what the row already did (relink), said before the delete's outcome
    nz_link: str = ""
    backup: str | None = None


@dataclass
class RunContext:
    """What every action needs: the client, settings, journal and backups of this run."""

    client: AlmaClient
    settings: Settings
    journal: Journal
    backups: BackupStore
    run_id: str
    preview: bool = False
    fence: Callable[[], None] = lambda: None  # raises LockLost when this process no longer holds the inbox
    bibs: dict[str, dict | None] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bib(self, mms_id: str) -> dict | None:
        """The bib as read at the start of this window (batched), or read now."""
        with self._lock:
            if mms_id in self.bibs:
                return self.bibs[mms_id]
        bib = self.client.get_bib_or_none(mms_id, view="full", expand=BIB_EXPAND)
        with self._lock:
            self.bibs[mms_id] = bib
        return bib

    def prefetch(self, mms_ids: list[str]) -> None:
        """Read many bibs in calls of 100 (``GET /bibs?mms_id=``); absent ones are remembered as absent."""
        wanted = [m for m in dict.fromkeys(mms_ids) if m and m not in self.bibs]
        if not wanted:
            return
        found = self.client.get_bibs(wanted, view="full", expand=BIB_EXPAND)
        with self._lock:
            for mms_id in wanted:
                self.bibs[mms_id] = found.get(mms_id)

    def forget(self, mms_ids: list[str]) -> None:
        with self._lock:
            for mms_id in mms_ids:
                self.bibs.pop(mms_id, None)


# ---------------------------------------------------------------------------------------------
# Entry point for one row
# ---------------------------------------------------------------------------------------------

def run_task(ctx: RunContext, task: Task) -> RowResult | PendingDelete:
    """Do one row's work. Returns its result, or a :class:`PendingDelete` still to be read back."""
    with ctx.client.for_row(task.row.number):
        try:
            if task.action is Action.KEEP:
                return RowResult(task.row, Outcome.KEPT, "Nothing was changed in Alma, as the row asks.",
                                 mms_id=task.mms_id, portfolio_id=task.portfolio_id)
            _resolve_mms_id(ctx, task)
            if task.action is Action.DELETE:
                return _delete(ctx, task)
            return _relink(ctx, task)
        except RowStopped as stop:
            kwargs = {"mms_id": task.mms_id, "portfolio_id": task.portfolio_id, **stop.result_kwargs}
            return RowResult(task.row, **kwargs)
        except AlmaError as exc:
            if stops_the_run(exc):
                raise  # the daily allowance, an outage, a refused key: the engine stops every row alike
            return RowResult(task.row, Outcome.FAILED,
                             f"Alma refused a call ({exc.method} {exc.path}); nothing further was done on this row.",
                             mms_id=task.mms_id, portfolio_id=task.portfolio_id, alma_error=exc.info)


def _stop(outcome: Outcome, details: str, **kwargs) -> RowStopped:
    return RowStopped({"outcome": outcome, "details": details, **kwargs})


def _resolve_mms_id(ctx: RunContext, task: Task) -> None:
    """Turn a Voyager bib ID into an MMS ID when the row gave none (confirmed in Alma either way)."""
    if task.mms_id or not task.other_system_id:
        return
    matches = ctx.client.find_bibs_by_other_system_id(task.other_system_id)
    if not matches:
        evidence = ctx.journal.deleted_by_other_system_id(task.other_system_id)
        if evidence:
            pid, mms, _run, when = evidence
            task.mms_id, task.portfolio_id = task.mms_id or mms, task.portfolio_id or pid
            raise _stop(Outcome.ALREADY_DONE, f"Portfolio {pid} was deleted by an earlier run ({when[:10]}); its bib "
                                              f"{mms} (old catalogue number {task.other_system_id}) is no longer in "
                                              "Alma either. Nothing was changed.")
        raise _stop(Outcome.SKIPPED, f"No bib in Alma carries the old catalogue number {task.other_system_id}; "
                                     "put the MMS ID in the MMS ID column. Nothing was changed.")
    if len(matches) > 1:
        ids = ", ".join(str(b.get("mms_id")) for b in matches[:5])
        raise _stop(Outcome.SKIPPED, f"{len(matches)} bibs in Alma carry the old catalogue number "
                                     f"{task.other_system_id} ({ids}); put the right MMS ID in the MMS ID column. "
                                     "Nothing was changed.")
    task.mms_id = str(matches[0].get("mms_id"))
    task.mms_id_source = "other_system_id"


# ---------------------------------------------------------------------------------------------
# delete
# ---------------------------------------------------------------------------------------------

def _delete(ctx: RunContext, task: Task) -> RowResult | PendingDelete:
    resumed = _resume_pending(ctx, task, "delete_portfolio")
    if resumed:
        return resumed
    bib, portfolio = _p2e_records(ctx, task)
    po_line = _check_po_line(ctx, task, portfolio)
    _check_target(ctx, task)
    backup = _back_up(ctx, task, bib=bib, portfolio=portfolio, po_line=po_line)
    if ctx.preview:
        return RowResult(task.row, Outcome.PREVIEW, _would_delete(task, bib), mms_id=task.mms_id,
                         portfolio_id=task.portfolio_id, backup=backup)
    return _delete_portfolio(ctx, task, bib, backup)


def _p2e_records(ctx: RunContext, task: Task) -> tuple[dict, dict]:
    """The row's bib and its P2E portfolio, checked; stops the row when either is wrong."""
    bib = ctx.bib(task.mms_id)
    if bib is None:
        evidence = ctx.journal.deleted_by(task.portfolio_id) if task.portfolio_id else None
        if evidence:
            raise _stop(Outcome.ALREADY_DONE, f"Portfolio {task.portfolio_id} and bib {task.mms_id} were deleted by "
                                              f"an earlier run ({evidence[1][:10]}).")
        on_bib = ctx.journal.deleted_on_bib(task.mms_id) if not task.portfolio_id else None
        if on_bib:  # the row gave no portfolio ID (a Voyager bib ID only, say): the journal knows the bib
            task.portfolio_id = on_bib[0]
            raise _stop(Outcome.ALREADY_DONE, f"Portfolio {on_bib[0]} and bib {task.mms_id} were deleted by an "
                                              f"earlier run ({on_bib[2][:10]}).")
        raise _stop(Outcome.SKIPPED, f"There is no bib with MMS ID {task.mms_id} in Alma. Check the MMS ID "
                                     "(it may have been deleted or merged). Nothing was changed.")
    if task.portfolio_id:
        portfolio = ctx.client.get_portfolio_or_none(task.mms_id, task.portfolio_id)
        if portfolio is None:
            evidence = ctx.journal.deleted_by(task.portfolio_id)
            if evidence:
                raise _stop(Outcome.ALREADY_DONE, f"Portfolio {task.portfolio_id} was deleted by an earlier run "
                                                  f"({evidence[1][:10]}); bib {task.mms_id} is still in Alma.")
            _gone_elsewhere(ctx, task)
    else:
        portfolio = _single_p2e_portfolio(ctx, task)
    if R.is_cz_linked(portfolio):
        raise _stop(Outcome.SKIPPED, f"Not a P2E portfolio: portfolio {task.portfolio_id} is linked to the "
                                     "Community Zone. This is the kind of portfolio to keep. Nothing was changed.")
    if not R.is_p2e_portfolio(portfolio):
        collection, name = R.collection_of(portfolio)
        label = f"{name} ({collection})" if name else collection
        raise _stop(Outcome.SKIPPED, f"Not a P2E portfolio: portfolio {task.portfolio_id} is part of collection "
                                     f"{label}. Only standalone local portfolios are deleted. Nothing was changed.")
    return bib, portfolio


def _gone_elsewhere(ctx: RunContext, task: Task) -> None:
    """The row's portfolio is not on its bib, and this installation did not delete it: say what Alma holds.

    Deleted earlier by hand, by Alma's job or by another tool: when no standalone local portfolio
    remains on the bib, a delete row is already done; when one remains, the row names it.
    """
    left = [str(p.get("id")) for p in ctx.client.list_portfolios(task.mms_id) if R.is_p2e_portfolio(p)]
    if left:
        ids = ", ".join(left[:5])
        raise _stop(Outcome.SKIPPED, f"Portfolio {task.portfolio_id} is not on bib {task.mms_id} in Alma (it may have "
                                     f"been deleted earlier), but the bib still has standalone local portfolio "
                                     f"{ids}. Check both IDs: if {left[0]} is the one to remove, put it in the "
                                     "Portfolio ID column. Nothing was changed.")
    if task.action is Action.RELINK:
        raise _stop(Outcome.SKIPPED, f"Portfolio {task.portfolio_id} is no longer in Alma: it was deleted earlier, "
                                     f"outside this processor, so there is nothing to relink from. If its PO line still "
                                     f"points to bib {task.mms_id}, use Change Bib Reference in Alma. Nothing was "
                                     "changed.")
    raise _stop(Outcome.ALREADY_DONE, f"Portfolio {task.portfolio_id} is no longer in Alma: it was deleted earlier, "
                                      f"outside this processor. Bib {task.mms_id} is still in Alma and has no standalone "
                                      "local portfolio left. Nothing was changed.")


def _single_p2e_portfolio(ctx: RunContext, task: Task) -> dict:
    """The bib's one standalone local portfolio, when the row gave no portfolio ID."""
    candidates = [p for p in ctx.client.list_portfolios(task.mms_id) if R.is_p2e_portfolio(p)]
    if not candidates:
        on_bib = ctx.journal.deleted_on_bib(task.mms_id)
        if on_bib:
            task.portfolio_id = on_bib[0]
            raise _stop(Outcome.ALREADY_DONE, f"Portfolio {on_bib[0]} was deleted by an earlier run "
                                              f"({on_bib[2][:10]}); bib {task.mms_id} is still in Alma.")
        raise _stop(Outcome.SKIPPED, f"Bib {task.mms_id} has no standalone local (P2E) portfolio. Nothing was changed.")
    if len(candidates) > 1:
        ids = ", ".join(str(p.get("id")) for p in candidates)
        raise _stop(Outcome.SKIPPED, f"Bib {task.mms_id} has {len(candidates)} standalone local portfolios ({ids}); "
                                     "put the one to delete in the Portfolio ID column. Nothing was changed.")
    task.portfolio_id = str(candidates[0].get("id"))
    return ctx.client.get_portfolio(task.mms_id, task.portfolio_id)


def _check_po_line(ctx: RunContext, task: Task, portfolio: dict) -> dict | None:
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
        raise _stop(Outcome.SKIPPED, f"Portfolio {task.portfolio_id} is linked to active PO line {number} "
                                     f"({status.lower() or 'open'}), so it was skipped, as Alma's Delete Portfolios job "
                                     "does. To keep the order, mark this row relink with the Target MMS ID of the "
                                     "record you keep. Nothing was changed.")
    return po_line


def _check_target(ctx: RunContext, task: Task) -> dict | None:
    """The record staff keep must exist and have an available Community-Zone-linked portfolio."""
    if not task.target_mms_id:
        return None
    target = ctx.bib(task.target_mms_id)
    if target is None:
        raise _stop(Outcome.SKIPPED, f"The record you keep (Target MMS ID {task.target_mms_id}) is not in Alma. "
                                     "Check the ID. Nothing was changed.")
    link_type, _ = R.bib_link(target)
    if task.target_portfolio_id:
        if link_type == "CZ" and any(ave.get("8") == task.target_portfolio_id for ave in R.available_portfolios(target)):
            return None  # the AVE fields read with the bib show that portfolio active on a CZ-linked record
        portfolio = ctx.client.get_portfolio_or_none(task.target_mms_id, task.target_portfolio_id)
        if portfolio is None:
            raise _stop(Outcome.SKIPPED, f"Portfolio {task.target_portfolio_id} is not on the record you keep "
                                         f"({task.target_mms_id}). Check the Target Portfolio ID. Nothing was changed.")
        if not (R.is_cz_linked(portfolio) and R.is_available(portfolio)):
            raise _stop(Outcome.SKIPPED, f"The record you keep has no active portfolio: portfolio "
                                         f"{task.target_portfolio_id} is not an available Community Zone portfolio. "
                                         "Nothing was changed.")
        return portfolio
    if link_type == "CZ" and R.available_portfolios(target):
        return None  # the AVE fields read with the bib show an active portfolio on a CZ-linked record
    return _target_candidates(ctx, task)[0]


def _target_candidates(ctx: RunContext, task: Task) -> list[dict]:
    """The kept record's available Community-Zone-linked portfolios; stops the row if there is none."""
    candidates = [p for p in ctx.client.list_portfolios(task.target_mms_id)
                  if R.is_cz_linked(p) and R.is_available(p)]
    if not candidates:
        raise _stop(Outcome.SKIPPED, f"The record you keep ({task.target_mms_id}) has no active Community Zone "
                                     "portfolio, so this row was skipped to avoid leaving the title without access. "
                                     "Nothing was changed.")
    return candidates


def _single_target_portfolio(ctx: RunContext, task: Task) -> dict:
    """The portfolio that receives the PO line: the row's, or the kept record's only active CZ one."""
    candidates = _target_candidates(ctx, task)
    if len(candidates) > 1:
        ids = ", ".join(str(p.get("id")) for p in candidates)
        raise _stop(Outcome.SKIPPED, f"The record you keep ({task.target_mms_id}) has {len(candidates)} active "
                                     f"Community Zone portfolios ({ids}); put the one that should carry the PO line "
                                     "in the Target Portfolio ID column. Nothing was changed.")
    task.target_portfolio_id = str(candidates[0].get("id"))
    return candidates[0]


def _back_up(ctx: RunContext, task: Task, **records: dict | None) -> str | None:
    """Save every record about to change, exactly as Alma returned it, plus the row's manifest.

    A preview changes nothing, so it saves nothing."""
    if ctx.preview:
        return None
    idents = {"bib": task.mms_id, "portfolio": task.portfolio_id, "target_portfolio": task.target_portfolio_id}
    saved = {kind.replace("_", "-"): (idents.get(kind) or R._value(record.get("number")) or kind, record)
             for kind, record in records.items() if record is not None}
    manifest = {
        "run_id": ctx.run_id, "row": task.row.number, "action": task.action.value, "mms_id": task.mms_id,
        "portfolio_id": task.portfolio_id, "po_line": task.po_line, "target_mms_id": task.target_mms_id,
        "target_portfolio_id": task.target_portfolio_id, "bib_handling": task.bib_handling.value,
    }
    return str(ctx.backups.save_row(task.row.number, manifest, saved))


def _would_delete(task: Task, bib: dict, prefix: str = "Would delete") -> str:
    handling = task.bib_handling
    base = f"{prefix} portfolio {task.portfolio_id}"
    if handling is BibHandling.RETAIN:
        return f"{base} and keep its bib {task.mms_id}, as the row asks."
    verb = "delete" if handling is BibHandling.DELETE else "suppress"
    others = R.other_inventory(bib, task.portfolio_id) if R.has_availability_fields(bib) else None
    link_type, link = R.bib_link(bib)
    nz = f" (the bib is linked to the Network Zone record {link})" if link_type == "NZ" else ""
    if others is None:
        return f"{base}; its bib {task.mms_id} would be {verb}d if nothing else remains on it{nz}."
    if others:
        return f"{base}; its bib {task.mms_id} would be kept because other inventory remains ({', '.join(others[:5])})."
    return f"{base} and {verb} its bib {task.mms_id}: no other inventory{nz}."


def _delete_portfolio(ctx: RunContext, task: Task, bib: dict, backup: str | None, done_before: str = "") -> PendingDelete:
    link_type, link = R.bib_link(bib)
    pending = PendingDelete(task, task.mms_id, task.portfolio_id, task.bib_handling, done_before,
                            nz_link=link if link_type == "NZ" else "", backup=backup)
    detail = {"mms_id": pending.mms_id, "portfolio_id": pending.portfolio_id, "handling": pending.handling.value,
              "done_before": done_before, "nz_link": pending.nz_link, "backup": backup}
    ctx.fence()
    ctx.journal.step_started(ctx.run_id, task.row.number, "delete_portfolio", detail)
    try:
        ctx.client.delete_portfolio(task.mms_id, task.portfolio_id, bib=task.bib_handling.value)
    except AlmaUnavailable:
        raise  # no answer: the delete may have happened; the step stays 'started' and a read settles it on resume
    except AlmaError as exc:
        ctx.journal.step_refused(ctx.run_id, task.row.number, "delete_portfolio")
        if stops_the_run(exc):
            raise
        state = f"{done_before} " if done_before else ""
        raise _stop(Outcome.FAILED, f"{state}Alma refused to delete portfolio {task.portfolio_id}; it and bib "
                                    f"{task.mms_id} are unchanged.", alma_error=exc.info, backup=backup,
                    step="delete portfolio") from None
    ctx.journal.step_done(ctx.run_id, task.row.number, "delete_portfolio")
    return pending


def _resume_pending(ctx: RunContext, task: Task, step: str) -> PendingDelete | None:
    """After a crash: a delete this run already sent is read back, never sent twice.

    'done' means Alma accepted it; 'started' means the process died around the call, so the
    portfolio is read: gone means the delete happened, still there means it never left.
    """
    found = ctx.journal.step(ctx.run_id, task.row.number, step)
    if not found or found[0] == "refused":
        return None
    state, detail = found
    if state == "started" and ctx.client.get_portfolio_or_none(detail["mms_id"], detail["portfolio_id"]) is not None:
        return None  # the delete never reached Alma: do the row again, checks first
    task.portfolio_id = task.portfolio_id or detail.get("portfolio_id")
    return PendingDelete(task, detail["mms_id"], detail["portfolio_id"], BibHandling(detail["handling"]),
                         detail.get("done_before", ""), detail.get("nz_link", ""), detail.get("backup"))


# ---------------------------------------------------------------------------------------------
# relink
# ---------------------------------------------------------------------------------------------

def _relink(ctx: RunContext, task: Task) -> RowResult | PendingDelete:
    resumed = _resume_pending(ctx, task, "delete_portfolio")
    if resumed:
        return resumed
    bib, portfolio = _p2e_records(ctx, task)
    if ctx.bib(task.target_mms_id) is None:
        raise _stop(Outcome.SKIPPED, f"The record you keep (Target MMS ID {task.target_mms_id}) is not in Alma. "
                                     "Check the ID. Nothing was changed.")
    po_line = _find_po_line(ctx, task, portfolio)
    if task.target_portfolio_id:
        _check_target(ctx, task)
    else:
        _single_target_portfolio(ctx, task)
    # The full portfolio, read just before it is changed (Alma's PUT replaces the whole record).
    target = ctx.client.get_portfolio(task.target_mms_id, task.target_portfolio_id)
    backup = _back_up(ctx, task, bib=bib, portfolio=portfolio, po_line=po_line, target_portfolio=target)
    number = task.po_line
    if ctx.preview:
        text = (f"Would move PO line {number} to the record you keep ({task.target_mms_id}) and attach it to its "
                f"portfolio {task.target_portfolio_id}, then " + _would_delete(task, bib, prefix="delete"))
        return RowResult(task.row, Outcome.PREVIEW, text, mms_id=task.mms_id, portfolio_id=task.portfolio_id,
                         backup=backup)

    # Step 1: change the PO line's bib reference ("Change Bib Reference"), then read it back.
    if R.po_line_bib(po_line) != task.target_mms_id:
        changed = copy.deepcopy(po_line)
        changed.setdefault("resource_metadata", {})["mms_id"] = {"value": task.target_mms_id}
        seen = {}

        def po_line_moved() -> bool:
            seen["bib"] = R.po_line_bib(ctx.client.get_po_line(number))
            return seen["bib"] == task.target_mms_id

        _write_and_prove(
            ctx, task, "relink_po_line", backup,
            send=lambda: ctx.client.update_po_line(number, changed, verify=po_line_moved), proven=po_line_moved,
            refused=f"Alma refused to change PO line {number}; it still points to the P2E record {task.mms_id}, "
                    "and nothing else was changed.",
            ignored=lambda: f"Alma answered that PO line {number} was changed, but reading it back shows it still "
                            f"points to {seen.get('bib') or 'no record'}, not to {task.target_mms_id}. Nothing else "
                            f"was changed. Use Change Bib Reference on PO line {number} in Alma, then run this row again.",
            label="change the PO line's bib reference")

    # Step 2: attach the PO line to the kept record's portfolio (the Acquisition tab), then read it back.
    if R.po_line_number(target) != number:
        attached = copy.deepcopy(target)
        attached["po_line"] = {"value": number}

        def attached_to_target() -> bool:
            return R.po_line_number(ctx.client.get_portfolio(task.target_mms_id, task.target_portfolio_id)) == number

        moved = f"PO line {number} now points to {task.target_mms_id}"
        manual = (f"Attach PO line {number} to portfolio {task.target_portfolio_id} in Alma (Acquisition tab), then "
                  f"delete portfolio {task.portfolio_id}.")
        _write_and_prove(
            ctx, task, "attach_po_line", backup,
            send=lambda: ctx.client.update_portfolio(task.target_mms_id, task.target_portfolio_id, attached,
                                                     verify=attached_to_target),
            proven=attached_to_target,
            refused=f"{moved}, but Alma refused to attach it to portfolio {task.target_portfolio_id}. {manual}",
            ignored=lambda: f"{moved}, but portfolio {task.target_portfolio_id} still does not show it after Alma "
                            f"answered the change. {manual}",
            label="attach the PO line to the portfolio you keep")

    # Step 3: delete the P2E portfolio and bib, as delete does.
    done = f"Moved PO line {number} to {task.target_mms_id} and attached it to portfolio {task.target_portfolio_id}."
    return _delete_portfolio(ctx, task, bib, backup, done_before=done)


def _find_po_line(ctx: RunContext, task: Task, portfolio: dict) -> dict:
    """The PO line to move: the row's, the portfolio's, or the one found by MMS ID."""
    number = task.po_line or R.po_line_number(portfolio)
    if not number:
        found = [p for p in ctx.client.search_po_lines(task.mms_id) if R.po_line_status(p) != "CANCELLED"]
        if not found:
            raise _stop(Outcome.SKIPPED, f"No PO line is linked to portfolio {task.portfolio_id} or bib {task.mms_id}, "
                                         "so there is nothing to relink. Use delete for this row. Nothing was changed.")
        if len(found) > 1:
            ids = ", ".join(R._value(p.get("number")) for p in found)
            raise _stop(Outcome.SKIPPED, f"Bib {task.mms_id} has {len(found)} PO lines ({ids}); put the one to move "
                                         "in the PO Line column. Nothing was changed.")
        number = R._value(found[0].get("number"))
    task.po_line = number
    try:
        return ctx.client.get_po_line(number)
    except AlmaError as exc:
        if exc.not_found:
            raise _stop(Outcome.SKIPPED, f"PO line {number} is not in Alma. Check the PO Line column. "
                                         "Nothing was changed.", alma_error=exc.info) from None
        raise


def _write_and_prove(ctx: RunContext, task: Task, step: str, backup: str | None, *, send: Callable[[], object],
                     proven: Callable[[], bool], refused: str, ignored: Callable[[], str], label: str) -> None:
    """Send one write, then read it back: Alma may answer 200 and change nothing."""
    _write_step(ctx, task, step, backup, send, failure=refused)
    if not proven():
        raise _stop(Outcome.FAILED, ignored(), backup=backup, step=label)


def _write_step(ctx: RunContext, task: Task, step: str, backup: str, send: Callable[[], object], failure: str) -> None:
    ctx.fence()
    ctx.journal.step_started(ctx.run_id, task.row.number, step, {"po_line": task.po_line,
                                                                   "target": task.target_mms_id})
    try:
        send()
    except AlmaUnavailable:
        raise  # no answer: the write may have happened; the step stays 'started' and a read settles it on resume
    except AlmaError as exc:
        ctx.journal.step_refused(ctx.run_id, task.row.number, step)
        if stops_the_run(exc):
            raise
        raise _stop(Outcome.FAILED, failure, alma_error=exc.info, backup=backup, step=step.replace("_", " ")) from None
    ctx.journal.step_done(ctx.run_id, task.row.number, step)


# ---------------------------------------------------------------------------------------------
# read-back of deletes, in batches
# ---------------------------------------------------------------------------------------------

def verify_deletes(ctx: RunContext, pending: list[PendingDelete]) -> list[RowResult]:
    """Read back every accepted delete and say, precisely, what Alma now holds.

    One ``GET /bibs?mms_id=`` per 100 rows: a bib that is gone proves its portfolio is gone
    too. Where the bib remains, the portfolio itself is read to prove it is gone.
    """
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
                result = RowResult(item.task.row, Outcome.FAILED,
                                   f"Alma accepted the delete of portfolio {item.portfolio_id}, but reading it back "
                                   "failed, so it is not proven. Look the portfolio up in Alma.",
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
            return result(Outcome.DONE, f"Deleted portfolio {pid} and its bib {mms}. The bib was linked to the "
                                        f"Network Zone: Alma unlinked it and deleted the local copy; the Network Zone "
                                        f"record {item.nz_link} remains.", bib_state="deleted")
        if item.handling is BibHandling.DELETE:
            return result(Outcome.DONE, f"Deleted portfolio {pid} and its bib {mms}: no other inventory remained.",
                          bib_state="deleted")
        return result(Outcome.DONE, f"Deleted portfolio {pid}. Its bib {mms} is no longer in Alma either, although "
                                    f"the row asked to {item.handling.staff_word} it.", bib_state="deleted")
    if ctx.client.get_portfolio_or_none(mms, pid) is not None:
        return result(Outcome.FAILED, f"Alma answered that portfolio {pid} was deleted, but it is still on bib {mms}. "
                                      "Nothing else was changed; delete it in Alma or run this row again.",
                      step="read back")
    if item.handling is BibHandling.RETAIN:
        return result(Outcome.DONE, f"Deleted portfolio {pid}; its bib {mms} was kept, as the row asks.",
                      bib_state="kept")
    others = R.other_inventory(bib, pid) if R.has_availability_fields(bib) else []
    why = _why_bib_kept(ctx, item, bib, others)
    if item.handling is BibHandling.SUPPRESS:
        if R.is_suppressed(bib):
            return result(Outcome.DONE, f"Deleted portfolio {pid} and suppressed its bib {mms} from publishing.",
                          bib_state="suppressed")
        return result(Outcome.DONE, f"Deleted portfolio {pid}; its bib {mms} was not suppressed {why}.",
                      bib_state="kept")
    return result(Outcome.DONE, f"Deleted portfolio {pid}; its bib {mms} was kept {why}.", bib_state="kept")


def _why_bib_kept(ctx: RunContext, item: PendingDelete, bib: dict, others: list[str]) -> str:
    if others:
        return f"because other inventory remains ({', '.join(others[:5])})"
    link_type, link = R.bib_link(bib)
    if link_type == "NZ":
        return (f"because it is linked to the Network Zone ({link}); to remove it, run Alma's Delete Bibliographic "
                "Records job on it, which unlinks it first")
    open_lines = [R._value(p.get("number")) for p in ctx.client.search_po_lines(item.mms_id, status="ALL")
                  if R.OPEN_PO_LINE(R.po_line_status(p))]
    if open_lines:
        return f"because a PO line is still open on it ({', '.join(open_lines)})"
    return "(Alma gave no reason; no other inventory or open PO line was found; check the bib in Alma)"
