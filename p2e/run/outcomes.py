"""Every row message of the run, one named function each, so the wording lives in one place.

A check or a write that ends a row raises :class:`RowStopped` with a :class:`Stop` (the Result,
the Details and what else the results workbook shows); the other functions give the Details of
rows that end normally. Tests name these functions instead of copying their words. The group
action's messages are in :mod:`p2e.run.group_outcomes` (one file would pass 400 lines).

>>> no_bib("991234").details
'There is no bib with MMS ID 991234 in Alma. Check the MMS ID (it may have been deleted or merged). Nothing was changed.'
>>> RowStopped(no_bib("991234")).stop.outcome
<Outcome.SKIPPED: 'Skipped'>
"""
from __future__ import annotations

from dataclasses import dataclass

from ..alma import records as R
from ..alma.errors import AlmaErrorInfo
from ..model import ACTIVE_ORDER_STEP, BibHandling, Grouped, Outcome


@dataclass(frozen=True)
class Stop:
    """How a row ended early: its Result and Details, and what Alma said, the backup and the step."""

    outcome: Outcome
    details: str
    alma_error: AlmaErrorInfo | None = None
    backup: str | None = None
    step: str | None = None


class RowStopped(Exception):
    """Ends a row early with a result (a failed check, an Alma refusal).

    ``mms_id`` and ``portfolio_id`` name the records when the row itself did not (found in the journal);
    ``grouped`` says where a group row was going (a collection it created is reported even if the row stopped).
    """

    def __init__(self, stop: Stop, *, mms_id: str | None = None, portfolio_id: str | None = None,
                 grouped: Grouped | None = None):
        super().__init__(stop.details)
        self.stop = stop
        self.mms_id = mms_id
        self.portfolio_id = portfolio_id
        self.grouped = grouped


NOTHING = "Nothing was changed."

# --- keep, and a call Alma refused ------------------------------------------------------------

KEPT = "Nothing was changed in Alma, as the row asks."


def refused_call(method: str, path: str) -> str:
    return f"Alma refused a call ({method} {path}); nothing further was done on this row."


# --- finding the MMS ID by the old catalogue number ---------------------------------------------

def deleted_earlier_by_old_number(pid: str, mms: str, other_system_id: str, when: str) -> Stop:
    return Stop(Outcome.ALREADY_DONE, f"Portfolio {pid} was deleted by an earlier run ({when[:10]}); its bib "
                                      f"{mms} (old catalogue number {other_system_id}) is no longer in "
                                      "Alma either. Nothing was changed.")


def no_bib_with_old_number(other_system_id: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"No bib in Alma carries the old catalogue number {other_system_id}; "
                                 "put the MMS ID in the MMS ID column. Nothing was changed.")


def several_bibs_with_old_number(count: int, other_system_id: str, ids: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"{count} bibs in Alma carry the old catalogue number "
                                 f"{other_system_id} ({ids}); put the right MMS ID in the MMS ID column. "
                                 "Nothing was changed.")


# --- the P2E bib and portfolio --------------------------------------------------------------

def portfolio_and_bib_deleted_earlier(pid: str, mms: str, when: str) -> Stop:
    return Stop(Outcome.ALREADY_DONE, f"Portfolio {pid} and bib {mms} were deleted by "
                                      f"an earlier run ({when[:10]}).")


def no_bib(mms: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"There is no bib with MMS ID {mms} in Alma. Check the MMS ID "
                                 "(it may have been deleted or merged). Nothing was changed.")


def portfolio_deleted_earlier(pid: str, mms: str, when: str) -> Stop:
    return Stop(Outcome.ALREADY_DONE, f"Portfolio {pid} was deleted by an earlier run "
                                      f"({when[:10]}); bib {mms} is still in Alma.")


def cz_linked_portfolio(pid: str | None) -> Stop:
    return Stop(Outcome.SKIPPED, f"Not a P2E portfolio: portfolio {pid} is linked to the "
                                 "Community Zone. This is the kind of portfolio to keep. Nothing was changed.")


def portfolio_in_collection(pid: str | None, label: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Not a P2E portfolio: portfolio {pid} is part of collection "
                                 f"{label}. Only standalone local portfolios are deleted. Nothing was changed.")


def portfolio_not_on_bib_but_another(pid: str, mms: str, ids: str, first: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Portfolio {pid} is not on bib {mms} in Alma (it may have "
                                 f"been deleted earlier), but the bib still has standalone local portfolio "
                                 f"{ids}. Check both IDs: if {first} is the one to remove, put it in the "
                                 "Portfolio ID column. Nothing was changed.")


def nothing_to_relink_from(pid: str, mms: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Portfolio {pid} is no longer in Alma: it was deleted earlier, "
                                 f"outside this processor, so there is nothing to relink from. If its PO line still "
                                 f"points to bib {mms}, use Change Bib Reference in Alma. Nothing was "
                                 "changed.")


def deleted_outside_the_processor(pid: str, mms: str) -> Stop:
    return Stop(Outcome.ALREADY_DONE, f"Portfolio {pid} is no longer in Alma: it was deleted earlier, "
                                      f"outside this processor. Bib {mms} is still in Alma and has no standalone "
                                      "local portfolio left. Nothing was changed.")


def no_p2e_portfolio(mms: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Bib {mms} has no standalone local (P2E) portfolio. Nothing was changed.")


def several_p2e_portfolios(mms: str, count: int, ids: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Bib {mms} has {count} standalone local portfolios ({ids}); "
                                 "put the one to delete in the Portfolio ID column. Nothing was changed.")


def active_po_line(pid: str, number: str, status: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Portfolio {pid} is linked to active PO line {number} "
                                 f"({status.lower() or 'open'}), so it was skipped, as Alma's Delete Portfolios job "
                                 "does. To keep the order, mark this row relink with the Target MMS ID of the "
                                 "record you keep. Nothing was changed.", step=ACTIVE_ORDER_STEP)


# --- the record staff keep ------------------------------------------------------------------

def target_not_in_alma(target_mms: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"The record you keep (Target MMS ID {target_mms}) is not in Alma. "
                                 "Check the ID. Nothing was changed.")


def target_portfolio_not_on_target(target_pid: str, target_mms: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Portfolio {target_pid} is not on the record you keep "
                                 f"({target_mms}). Check the Target Portfolio ID. Nothing was changed.")


def target_portfolio_not_active(target_pid: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"The record you keep has no active portfolio: portfolio "
                                 f"{target_pid} is not an available Community Zone portfolio. "
                                 "Nothing was changed.")


def target_without_active_portfolio(target_mms: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"The record you keep ({target_mms}) has no active Community Zone "
                                 "portfolio, so this row was skipped to avoid leaving the title without access. "
                                 "Nothing was changed.")


def several_target_portfolios(target_mms: str, count: int, ids: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"The record you keep ({target_mms}) has {count} active "
                                 f"Community Zone portfolios ({ids}); put the one that should carry the PO line "
                                 "in the Target Portfolio ID column. Nothing was changed.")


# --- the PO line to move ----------------------------------------------------------------------

def no_po_line_to_relink(pid: str, mms: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"No PO line is linked to portfolio {pid} or bib {mms}, "
                                 "so there is nothing to relink. Use delete for this row. Nothing was changed.")


def several_po_lines(mms: str, count: int, ids: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Bib {mms} has {count} PO lines ({ids}); put the one to move "
                                 "in the PO Line column. Nothing was changed.")


def po_line_not_in_alma(number: str, alma_error: AlmaErrorInfo) -> Stop:
    return Stop(Outcome.SKIPPED, f"PO line {number} is not in Alma. Check the PO Line column. "
                                 "Nothing was changed.", alma_error=alma_error)


# --- writes -----------------------------------------------------------------------------------

def delete_refused(done_before: str, pid: str, mms: str, alma_error: AlmaErrorInfo, backup: str | None) -> Stop:
    state = f"{done_before} " if done_before else ""
    return Stop(Outcome.FAILED, f"{state}Alma refused to delete portfolio {pid}; it and bib "
                                f"{mms} are unchanged.", alma_error=alma_error, backup=backup,
                step="delete portfolio")


def write_refused(failure: str, alma_error: AlmaErrorInfo, backup: str | None, step: str) -> Stop:
    return Stop(Outcome.FAILED, failure, alma_error=alma_error, backup=backup, step=step.replace("_", " "))


def write_ignored(text: str, backup: str | None, label: str) -> Stop:
    return Stop(Outcome.FAILED, text, backup=backup, step=label)


def po_line_change_refused(number: str, mms: str) -> str:
    return (f"Alma refused to change PO line {number}; it still points to the P2E record {mms}, "
            "and nothing else was changed.")


def po_line_change_ignored(number: str, seen: str | None, target_mms: str) -> str:
    return (f"Alma answered that PO line {number} was changed, but reading it back shows it still "
            f"points to {seen or 'no record'}, not to {target_mms}. Nothing else "
            f"was changed. Use Change Bib Reference on PO line {number} in Alma, then run this row again.")


def po_line_moved(number: str, target_mms: str) -> str:
    return f"PO line {number} now points to {target_mms}"


def attach_by_hand(number: str, target_pid: str, pid: str) -> str:
    return (f"Attach PO line {number} to portfolio {target_pid} in Alma (Acquisition tab), then "
            f"delete portfolio {pid}.")


def attach_refused(number: str, target_mms: str, target_pid: str, pid: str) -> str:
    return (f"{po_line_moved(number, target_mms)}, but Alma refused to attach it to portfolio {target_pid}. "
            f"{attach_by_hand(number, target_pid, pid)}")


def attach_ignored(number: str, target_mms: str, target_pid: str, pid: str) -> str:
    return (f"{po_line_moved(number, target_mms)}, but portfolio {target_pid} still does not show it after Alma "
            f"answered the change. {attach_by_hand(number, target_pid, pid)}")


def relinked(number: str, target_mms: str, target_pid: str) -> str:
    return f"Moved PO line {number} to {target_mms} and attached it to portfolio {target_pid}."


# --- preview ----------------------------------------------------------------------------------

def would_delete(pid: str, mms: str, handling: BibHandling, bib: dict, prefix: str = "Would delete") -> str:
    base = f"{prefix} portfolio {pid}"
    if handling is BibHandling.RETAIN:
        return f"{base} and keep its bib {mms}, as the row asks."
    verb = "delete" if handling is BibHandling.DELETE else "suppress"
    others = R.other_inventory(bib, pid) if R.has_availability_fields(bib) else None
    link_type, link = R.bib_link(bib)
    nz = f" (the bib is linked to the Network Zone record {link})" if link_type == "NZ" else ""
    if others is None:
        return f"{base}; its bib {mms} would be {verb}d if nothing else remains on it{nz}."
    if others:
        return f"{base}; its bib {mms} would be kept because other inventory remains ({', '.join(others[:5])})."
    return f"{base} and {verb} its bib {mms}: no other inventory{nz}."


def would_relink(number: str, target_mms: str, target_pid: str, then_delete: str) -> str:
    return (f"Would move PO line {number} to the record you keep ({target_mms}) and attach it to its "
            f"portfolio {target_pid}, then " + then_delete)


# --- read-back of deletes -----------------------------------------------------------------------

def read_back_failed(pid: str) -> str:
    return (f"Alma accepted the delete of portfolio {pid}, but reading it back "
            "failed, so it is not proven. Look the portfolio up in Alma.")


def deleted_with_nz_bib(pid: str, mms: str, nz_link: str) -> str:
    return (f"Deleted portfolio {pid} and its bib {mms}. The bib was linked to the "
            f"Network Zone: Alma unlinked it and deleted the local copy; the Network Zone "
            f"record {nz_link} remains.")


def deleted_with_bib(pid: str, mms: str) -> str:
    return f"Deleted portfolio {pid} and its bib {mms}: no other inventory remained."


def deleted_bib_gone_too(pid: str, mms: str, handling: BibHandling) -> str:
    return (f"Deleted portfolio {pid}. Its bib {mms} is no longer in Alma either, although "
            f"the row asked to {handling.staff_word} it.")


def delete_ignored(pid: str, mms: str) -> str:
    return (f"Alma answered that portfolio {pid} was deleted, but it is still on bib {mms}. "
            "Nothing else was changed; delete it in Alma or run this row again.")


def deleted_bib_kept_as_asked(pid: str, mms: str) -> str:
    return f"Deleted portfolio {pid}; its bib {mms} was kept, as the row asks."


def deleted_bib_suppressed(pid: str, mms: str) -> str:
    return f"Deleted portfolio {pid} and suppressed its bib {mms} from publishing."


def deleted_bib_not_suppressed(pid: str, mms: str, why: str) -> str:
    return f"Deleted portfolio {pid}; its bib {mms} was not suppressed {why}."


def deleted_bib_kept(pid: str, mms: str, why: str) -> str:
    return f"Deleted portfolio {pid}; its bib {mms} was kept {why}."


def kept_for_other_inventory(others: list[str]) -> str:
    return f"because other inventory remains ({', '.join(others[:5])})"


def kept_for_nz_link(link: str) -> str:
    return (f"because it is linked to the Network Zone ({link}); to remove it, run Alma's Delete Bibliographic "
            "Records job on it, which unlinks it first")


def kept_for_open_po_line(open_lines: list[str]) -> str:
    return f"because a PO line is still open on it ({', '.join(open_lines)})"


KEPT_NO_REASON = "(Alma gave no reason; no other inventory or open PO line was found; check the bib in Alma)"


# --- rows that did not run ----------------------------------------------------------------------
# The Result column already says "Not run", so these do not.

DAILY_NOT_RUN = "Alma's daily API allowance is used up; the rest of this file runs automatically after midnight UTC."
DAILY_NOT_RUN_BY_HAND = ("Alma's daily API allowance is used up. To finish the rest, run the same command again after "
                         "midnight UTC, or put the file in the inbox folder.")
STOPPED_NOT_RUN = "The processor was stopped before this row; it runs when the processor starts again."
OUTAGE_NOT_RUN = ("Alma could not be reached (an outage, not a refusal of this row), so this row was not started. "
                  "It runs when Alma answers again.")
OUTAGE_INTERRUPTED = ("Alma stopped answering while this row ran (an outage, not a refusal of this row). Anything "
                      "already sent is read back, and the row is finished, when Alma answers again.")
KEY_NOT_RUN = ("Alma refused the API key, so this row was not run. It runs once the key in the settings is put "
               "right; nothing was changed on this row.")
BY_HAND_AGAIN = " (Run the same command again, or put the file in the inbox folder.)"


def delete_not_read_back(pid: str, why: str) -> str:
    return (f"Alma accepted the delete of portfolio {pid}, but {why} before it "
            "could be read back; it is read back when this file runs again.")
