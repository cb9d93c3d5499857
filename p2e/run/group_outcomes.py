"""The group action's row messages, one named function each (the rest are in :mod:`p2e.run.outcomes`).

A group row moves a P2E portfolio into a local electronic collection: a new portfolio is made in the
collection's service for the same bib, the PO line moves to it, the standalone one is deleted and
the bib stays. These say, in plain words, what happened or what stopped the row, and what to do.

>>> no_collection_named("P2E e-books").outcome
<Outcome.SKIPPED: 'Skipped'>
>>> grouped("531", "532", "991", "P2E e-books", "611", "621", "the link", "", False)[:64]
"Moved portfolio 531 into collection 'P2E e-books' (611), service"
"""
from __future__ import annotations

from ..alma.errors import AlmaErrorInfo
from ..model import Outcome
from .outcomes import Stop


# --- group: into a local collection (the bib stays) ---------------------------------------------

def _coll(name: str, cid: str) -> str:
    return f"collection '{name}' ({cid})" if name and cid else (f"collection '{name}'" if name else f"collection {cid}")


def no_collection_with_id(cid: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"There is no electronic collection {cid} in Alma. Check the Collection column (or "
                                 "write the collection's public name). Nothing was changed.")


def no_collection_named(name: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"There is no electronic collection named '{name}' in Alma: create collection "
                                 f"'{name}' in Alma first (a local collection with one service), or ask whoever runs "
                                 "the processor to set CREATE_COLLECTIONS=yes. Nothing was changed.")


def several_collections_named(name: str, ids: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Several electronic collections are named '{name}' ({ids}): put the ID of the "
                                 "right one in the Collection column. Nothing was changed.")


def create_collection_refused(name: str, alma_error: AlmaErrorInfo) -> Stop:
    return Stop(Outcome.FAILED, f"Alma refused to create collection '{name}' (CREATE_COLLECTIONS=yes): create it "
                                "in Alma (a local collection with one service), then run this row again. Nothing "
                                "was changed.", alma_error=alma_error, step="create collection")


def create_collection_not_proven(name: str, cid: str) -> Stop:
    return Stop(Outcome.FAILED, f"Alma answered that collection '{name}' was created as {cid}, but reading it back "
                                f"does not show a local collection of that name. Check collection {cid} in Alma; "
                                "nothing else was changed.", step="create collection")


def create_service_refused(name: str, cid: str, alma_error: AlmaErrorInfo) -> Stop:
    return Stop(Outcome.FAILED, f"Collection '{name}' ({cid}) was created, but Alma refused to add a service to it: "
                                "add one in Alma, then run this row again. Nothing else was changed.",
                alma_error=alma_error, step="create service")


def cz_collection(name: str, cid: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"{_coll(name, cid).capitalize()} is a Community Zone collection: Alma adds no "
                                 "local portfolios to it. Name a local collection in the Collection column. Nothing "
                                 "was changed.")


def cz_collection_refused(name: str, cid: str, alma_error: AlmaErrorInfo) -> Stop:
    return Stop(Outcome.SKIPPED, f"Alma refused to add a portfolio to {_coll(name, cid)}: it is not a local "
                                 "collection (a Community Zone collection takes no local portfolios). Name a local "
                                 "collection in the Collection column. Nothing was changed.", alma_error=alma_error)


def collection_without_service(name: str, cid: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"{_coll(name, cid).capitalize()} has no service, so no portfolio can go into it: "
                                 "add a service to it in Alma, then run this row again. Nothing was changed.")


def no_such_service(service: str, name: str, cid: str, services: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"{_coll(name, cid).capitalize()} has no service '{service}' (its services: "
                                 f"{services}). Check the Service column. Nothing was changed.")


def several_services(name: str, cid: str, services: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"{_coll(name, cid).capitalize()} has several services ({services}): put the one "
                                 "to use in the Service column. Nothing was changed.")


def not_standalone_for_group(pid: str, label: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Portfolio {pid} is already part of collection {label}, not a standalone P2E "
                                 "portfolio; only standalone local portfolios are grouped. Nothing was changed.")


def cz_portfolio_for_group(pid: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Not a P2E portfolio: portfolio {pid} is linked to the Community Zone; only "
                                 "standalone local portfolios are grouped. Nothing was changed.")


def already_grouped(pid: str, mms: str, name: str, cid: str, sid: str) -> Stop:
    return Stop(Outcome.ALREADY_DONE, f"Bib {mms} already has portfolio {pid} in {_coll(name, cid)}, service {sid}, "
                                      "and no standalone P2E portfolio. Nothing was changed.")


def grouped_and_standalone_both_there(new: str, pid: str, mms: str, name: str, cid: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Bib {mms} already has portfolio {new} in {_coll(name, cid)}, and its standalone "
                                 f"portfolio {pid} is still there. Check both in Alma: if {new} is right, delete {pid} "
                                 "(keep the bib); then this row is done. Nothing was changed.")


def nothing_to_group(pid: str, mms: str, name: str, cid: str) -> Stop:
    return Stop(Outcome.SKIPPED, f"Portfolio {pid} is not on bib {mms} in Alma, and the bib has no portfolio in "
                                 f"{_coll(name, cid)}: there is nothing to group. Check the IDs. Nothing was changed.")


def field_refused(field: str, value: str, pid: str, name: str, cid: str, alma_error: AlmaErrorInfo) -> Stop:
    shown = f" ({value})" if value else ""
    return Stop(Outcome.FAILED, f"Alma would not take the {field}{shown} of portfolio {pid} for the new portfolio in "
                                f"{_coll(name, cid)}, so none was made. Correct the {field} on portfolio {pid} in "
                                "Alma (or clear it), then run this row again. Nothing was changed.",
                alma_error=alma_error, step="create portfolio in collection")


def create_refused(pid: str, name: str, cid: str, alma_error: AlmaErrorInfo) -> Stop:
    return Stop(Outcome.FAILED, f"Alma refused to make the new portfolio in {_coll(name, cid)}; portfolio {pid} "
                                "is unchanged. Nothing was changed.", alma_error=alma_error,
                step="create portfolio in collection")


def fields_not_kept(new: str, pid: str, name: str, cid: str, fields: str, backup: str | None) -> Stop:
    return Stop(Outcome.FAILED, f"Alma made portfolio {new} in {_coll(name, cid)}, but reading it back shows it did "
                                f"not keep the {fields} of portfolio {pid}. Portfolio {pid} is unchanged. Set the "
                                f"{fields} on {new} in Alma and delete {pid} (keep the bib), or delete {new} and run "
                                "this row again.", backup=backup, step="read back the new portfolio")


def group_po_line_by_hand(number: str, new: str, pid: str) -> str:
    return (f"Attach PO line {number} to portfolio {new} in Alma (Acquisition tab), then delete portfolio {pid} "
            "(keep the bib).")


def group_po_line_refused(number: str, new: str, pid: str, name: str, cid: str) -> str:
    return (f"Alma made portfolio {new} in {_coll(name, cid)}, but refused to attach PO line {number} to it; "
            f"portfolio {pid} is unchanged. {group_po_line_by_hand(number, new, pid)}")


def group_po_line_ignored(number: str, new: str, pid: str, name: str, cid: str) -> str:
    return (f"Alma made portfolio {new} in {_coll(name, cid)} and answered that PO line {number} was attached, but "
            f"reading it back does not show it; portfolio {pid} is unchanged. {group_po_line_by_hand(number, new, pid)}")


def group_delete_refused(new: str, pid: str, mms: str, alma_error: AlmaErrorInfo, backup: str | None) -> Stop:
    return Stop(Outcome.FAILED, f"Portfolio {new} is in the collection with everything carried over, but Alma refused "
                                f"to delete the standalone portfolio {pid}: delete it in Alma (keep bib {mms}).",
                alma_error=alma_error, backup=backup, step="delete standalone portfolio")


def group_delete_ignored(new: str, pid: str, mms: str, backup: str | None) -> Stop:
    return Stop(Outcome.FAILED, f"Portfolio {new} is in the collection with everything carried over, and Alma answered "
                                f"the delete of the standalone portfolio {pid}, but it is still on bib {mms}: delete it "
                                "in Alma (keep the bib).", backup=backup, step="delete standalone portfolio")


def grouped(pid: str, new: str, mms: str, name: str, cid: str, sid: str, carried: str, number: str,
            created: bool) -> str:
    made = f"Created {_coll(name, cid)} with service {sid} (CREATE_COLLECTIONS). " if created else ""
    pol = f" PO line {number} now hangs on {new}." if number else ""
    return (f"{made}Moved portfolio {pid} into {_coll(name, cid)}, service {sid}: it is now portfolio {new} on the "
            f"same bib {mms}, which was kept. Carried over: {carried}.{pol} The standalone portfolio {pid} was deleted.")


def would_group(pid: str, mms: str, name: str, cid: str, sid: str, carried: str, number: str, create: bool) -> str:
    made = (f"Would create collection '{name}' with one service (CREATE_COLLECTIONS; once for the whole file), then "
            if create else "Would ")
    where = f"'{name}'" if create else f"{_coll(name, cid)}, service {sid}"
    pol = f", move PO line {number} to it" if number else ""
    return (f"{made}make a new portfolio for bib {mms} in {where}, carrying over {carried}{pol}, and delete the "
            f"standalone portfolio {pid}, keeping the bib.")
