"""group: move a P2E portfolio into a local electronic collection, keeping its bib (CARLI's third scenario).

Alma documents ``electronic_collection`` and ``is_standalone`` as set on create only, never by PUT
(rest_portfolio.xsd), so a portfolio cannot be moved into a collection. The row does instead:

1. **Check**: the bib is there; its portfolio is standalone and local (the P2E one); the collection
   exists, is local and has the service (:mod:`p2e.run.local_collections`); the bib has no portfolio in
   that service yet (else Already done, or Skipped when both are there).
2. **Back up** the portfolio, its bib and its PO line.
3. **Create** a portfolio for the same bib in the service, carrying over every field Alma lets a POST
   set, then read it back and compare field by field.
4. **Move the PO line** to it (PUT ``po_line``, read back).
5. **Delete** the standalone portfolio with ``bib=retain``, and read back that it is gone and the bib stays.

Every write is journalled (:func:`p2e.run.steps.journaled`). A row cut short by a crash is finished
from what Alma holds: the new portfolio is found in the service on the bib, never made twice. A
preview reads, and says what it would do.
"""
from __future__ import annotations

import copy

from ..alma import records as R
from ..alma.collections import creatable_fields
from ..alma.errors import AlmaError
from ..backup import load_row_backup
from ..model import Grouped, Outcome, RowResult
from . import checks, steps
from . import outcomes as common
from . import group_outcomes as say
from .context import Job, RunContext
from .local_collections import Place
from .outcomes import RowStopped

CREATE_STEP, PO_LINE_STEP, DELETE_STEP = "group_create", "group_po_line", "group_delete"

# Portfolio fields as staff know them, in the order the Details name them.
FIELD_WORDS = {
    "linking_details": "the link (URL, parser, proxy)", "coverage_details": "coverage", "availability": "availability",
    "access_type": "access type", "material_type": "material type", "library": "library", "public_note": "public note",
    "internal_description": "internal description", "authentication_note": "authentication note", "notes": "notes",
    "license": "license", "activation_date": "activation date", "expected_activation_date": "expected activation date",
    "interface": "interface", "pda": "PDA", "group_settings": "group settings", "counter_platform": "COUNTER platform",
    "public_access_model": "public access model", "additional_po_lines": "additional PO lines",
    "available_from_date": "available-from date", "available_until_date": "available-until date",
    "provenance": "provenance",
}
# Alma's codes for a field it will not take in a portfolio POST (electronic.json), and the field.
FIELD_CODES = {"60161": "availability", "60166": "linking_details", "60167": "linking_details",
               "60168": "linking_details", "60169": "license", "60170": "coverage_details",
               "60171": "material_type", "402469": "library", "60296": "counter_platform",
               "300465": "availability", "200797": "availability"}
CZ_REFUSAL = "60162"  # 'Problem retrieving the collection or service information.' (a CZ collection)


def group(ctx: RunContext, job: Job) -> RowResult:
    """group: check, back up, create in the collection, move the PO line, delete the standalone one."""
    place: Place | None = None
    try:
        bib = ctx.bib(job.mms_id)
        if bib is None:
            checks._bib_gone(ctx, job)  # raises: the row says why
        assert bib is not None
        place = ctx.collections.place(ctx, job)
        on_bib = ctx.client.list_portfolios(job.mms_id)
        finished = _finished_before_a_crash(ctx, job, place, on_bib)
        if finished:
            return finished
        pid, old, new_pid = _standalone_and_new(ctx, job, place, on_bib)
        number = R.po_line_number(old)
        po_line = _po_line(ctx, number)
        fields = {k: v for k, v in creatable_fields(old).items() if k != "po_line"}
        carried = carried_words(fields)
        if ctx.preview:
            return RowResult(job.row, Outcome.PREVIEW, say.would_group(
                pid, job.mms_id, place.collection_name, place.collection_id, place.service_id, carried, number,
                place.would_create), mms_id=job.mms_id, portfolio_id=pid, grouped=_grouped(place, pid))
        backup = _back_up(ctx, job, place, bib, old, po_line)
        if new_pid is None:
            new_pid = _create(ctx, job, place, pid, fields, {str(p.get("id")) for p in on_bib})
        ctx.backups.note(job.row.number, new_portfolio_id=new_pid)  # for restore (also when resumed)
        new = _read_back(ctx, job, place, pid, new_pid, fields, backup)
        if number:
            _move_po_line(ctx, job, place, number, new, new_pid, pid, backup)
        _delete_standalone(ctx, job, pid, new_pid, backup)
    except RowStopped as stop:  # where the row was going: for a collection this run created, or one already done
        if stop.grouped is None and place is not None:
            if stop.stop.outcome is Outcome.ALREADY_DONE:
                stop.grouped = _grouped(place, job.portfolio_id or "", stop.portfolio_id or job.portfolio_id or "")
            elif place.created:
                stop.grouped = _grouped(place, job.portfolio_id or "")
        raise
    ctx.journal.mark_deleted(pid, job.mms_id, ctx.run_id, job.task.other_system_id)
    text = say.grouped(pid, new_pid, job.mms_id, place.collection_name, place.collection_id, place.service_id,
                       carried, number, place.created)
    return RowResult(job.row, Outcome.DONE, text, mms_id=job.mms_id, portfolio_id=new_pid, backup=backup, bib="kept",
                     grouped=_grouped(place, pid, new_pid))


def _finished_before_a_crash(ctx: RunContext, job: Job, place: Place, on_bib: list[dict]) -> RowResult | None:
    """This run sent the row's delete, and the standalone portfolio is gone: the row is Done (said as then)."""
    found = ctx.journal.step(ctx.run_id, job.row.number, DELETE_STEP)
    if not found or found[0] == "refused":
        return None
    detail = found[1]
    pid, new_pid = str(detail.get("portfolio_id")), str(detail.get("new_portfolio_id"))
    if any(str(p.get("id")) == pid for p in on_bib):
        return None  # the delete never reached Alma: the row goes on
    job.portfolio_id = pid
    folder = ctx.backups.row_folder(job.row.number)
    saved = load_row_backup(folder)
    old = (saved.get("portfolio") or {}).get(pid) or {}
    number = R.po_line_number(old)
    text = say.grouped(pid, new_pid, job.mms_id, place.collection_name, place.collection_id, place.service_id,
                       carried_words(creatable_fields(old)), number, place.created)
    ctx.journal.mark_deleted(pid, job.mms_id, ctx.run_id, job.task.other_system_id)
    return RowResult(job.row, Outcome.DONE, text, mms_id=job.mms_id, portfolio_id=new_pid, backup=str(folder),
                     bib="kept", grouped=_grouped(place, pid, new_pid))


def carried_words(fields: dict) -> str:
    """The fields with a value, as staff know them: 'the link (URL, parser, proxy), coverage, license'."""
    words = [word for key, word in FIELD_WORDS.items() if _plain(fields.get(key)) not in ("", None)]
    return ", ".join(words) or "nothing (the portfolio had no values to carry over)"


def _grouped(place: Place | None, pid: str, new_pid: str = "") -> Grouped | None:
    if place is None:
        return None
    return Grouped(place.collection_id, place.collection_name, place.service_id, pid, new_pid, place.created)


def _service_of(portfolio: dict) -> str:
    return R._value(((portfolio.get("electronic_collection") or {}).get("service")))


def _standalone_and_new(ctx: RunContext, job: Job, place: Place, on_bib: list[dict]) -> tuple[str, dict, str | None]:
    """(the P2E portfolio's ID, its full record, the ID of a portfolio this run already made in the service).

    Stops the row when it is done already, or is not a P2E portfolio, or both are there unexplained.
    """
    in_service = [str(p.get("id")) for p in on_bib if place.service_id and _service_of(p) == place.service_id]
    pid = job.portfolio_id
    if not pid:
        standalone = [str(p.get("id")) for p in on_bib if R.is_p2e_portfolio(p)]
        if len(standalone) > 1:
            raise RowStopped(common.several_p2e_portfolios(job.mms_id, len(standalone), ", ".join(standalone)))
        pid = job.portfolio_id = standalone[0] if standalone else None
    listed = next((p for p in on_bib if str(p.get("id")) == pid), None) if pid else None
    if listed is None:
        if in_service:
            raise RowStopped(say.already_grouped(in_service[0], job.mms_id, place.collection_name,
                                                 place.collection_id, place.service_id), portfolio_id=in_service[0])
        if not pid:
            raise RowStopped(common.no_p2e_portfolio(job.mms_id))
        raise RowStopped(say.nothing_to_group(pid, job.mms_id, place.collection_name, place.collection_id))
    assert pid is not None  # listed is None without one
    old = ctx.client.get_portfolio(job.mms_id, pid)  # the full record: backed up and carried over
    if R.is_cz_linked(old):
        raise RowStopped(say.cz_portfolio_for_group(pid))
    if not R.is_p2e_portfolio(old):
        if place.service_id and _service_of(old) == place.service_id:
            raise RowStopped(say.already_grouped(pid, job.mms_id, place.collection_name, place.collection_id,
                                                 place.service_id))
        collection, name = R.collection_of(old)
        raise RowStopped(say.not_standalone_for_group(pid, f"{name} ({collection})" if name else collection))
    others = [p for p in in_service if p != pid]
    if others:
        earlier = ctx.journal.step(ctx.run_id, job.row.number, CREATE_STEP)
        if earlier and earlier[0] != "refused":
            return pid, old, others[0]  # made by this run before it was cut short: finish the row
        raise RowStopped(say.grouped_and_standalone_both_there(others[0], pid, job.mms_id, place.collection_name,
                                                               place.collection_id))
    return pid, old, None


def _po_line(ctx: RunContext, number: str) -> dict | None:
    if not number:
        return None
    try:
        return ctx.client.get_po_line(number)
    except AlmaError as exc:
        if exc.not_found:
            return None
        raise


def _back_up(ctx: RunContext, job: Job, place: Place, bib: dict, old: dict, po_line: dict | None) -> str:
    manifest = {
        "run_id": ctx.run_id, "row": job.row.number, "action": job.action.value, "mms_id": job.mms_id,
        "portfolio_id": job.portfolio_id, "po_line": R.po_line_number(old) or None,
        "collection_id": place.collection_id, "collection_name": place.collection_name,
        "service_id": place.service_id, "bib_handling": "retain",
    }
    records = {"bib": (job.mms_id, bib), "portfolio": (str(job.portfolio_id), old)}
    if po_line is not None:
        records["po-line"] = (R.po_line_number(old), po_line)
    return str(ctx.backups.save_row(job.row.number, manifest, records))


def _create(ctx: RunContext, job: Job, place: Place, pid: str, fields: dict, known: set[str]) -> str:
    """POST the new portfolio into the service, journalled; a field Alma will not take is named."""
    made: list[dict] = []

    def refused(info):
        if info.code == CZ_REFUSAL:
            return say.cz_collection_refused(place.collection_name, place.collection_id, info)
        key = FIELD_CODES.get(info.code)
        if key:
            return say.field_refused(FIELD_WORDS[key], _shown(fields.get(key)), pid, place.collection_name,
                                     place.collection_id, info)
        return say.create_refused(pid, place.collection_name, place.collection_id, info)

    detail = {"mms_id": job.mms_id, "portfolio_id": pid, "collection_id": place.collection_id,
              "service_id": place.service_id}
    steps.journaled(ctx, job, CREATE_STEP, detail, refused=refused, send=lambda: made.append(
        ctx.client.create_service_portfolio(place.collection_id, place.service_id, job.mms_id, fields,
                                            known_ids=known)))
    return str(made[0].get("id"))


def _read_back(ctx: RunContext, job: Job, place: Place, pid: str, new_pid: str, fields: dict,
               backup: str | None) -> dict:
    """The new portfolio as Alma now holds it: in the service, with every field sent."""
    new = ctx.client.get_portfolio(job.mms_id, new_pid)
    wrong = [FIELD_WORDS.get(k, k) for k, v in fields.items() if not same(v, new.get(k))]
    if _service_of(new) != place.service_id:
        wrong.insert(0, "collection and service")
    if wrong:
        raise RowStopped(say.fields_not_kept(new_pid, pid, place.collection_name, place.collection_id,
                                             ", ".join(wrong), backup))
    return new


def _move_po_line(ctx: RunContext, job: Job, place: Place, number: str, new: dict, new_pid: str, pid: str,
                  backup: str | None) -> None:
    """Attach the PO line to the new portfolio (PUT of the whole record just read), then read it back."""
    if R.po_line_number(new) == number:
        return
    attached = copy.deepcopy(new)
    attached["po_line"] = {"value": number}
    job.po_line = number

    def attached_to_new() -> bool:
        return R.po_line_number(ctx.client.get_portfolio(job.mms_id, new_pid)) == number

    name, cid = place.collection_name, place.collection_id
    steps.write_and_prove(
        ctx, job, PO_LINE_STEP, backup,
        send=lambda: ctx.client.update_portfolio(job.mms_id, new_pid, attached, verify=attached_to_new),
        proven=attached_to_new, refused=say.group_po_line_refused(number, new_pid, pid, name, cid),
        ignored=lambda: say.group_po_line_ignored(number, new_pid, pid, name, cid),
        label="attach the PO line to the new portfolio")


def _delete_standalone(ctx: RunContext, job: Job, pid: str, new_pid: str, backup: str | None) -> None:
    """Delete the standalone portfolio with bib=retain; read back that it is gone."""
    detail = {"mms_id": job.mms_id, "portfolio_id": pid, "new_portfolio_id": new_pid, "handling": "retain"}
    steps.journaled(ctx, job, DELETE_STEP, detail,
                    send=lambda: ctx.client.delete_portfolio(job.mms_id, pid, bib="retain"),
                    refused=lambda info: say.group_delete_refused(new_pid, pid, job.mms_id, info, backup))
    if ctx.client.get_portfolio_or_none(job.mms_id, pid) is not None:
        raise RowStopped(say.group_delete_ignored(new_pid, pid, job.mms_id, backup))


# -- comparing what was sent with what Alma kept ----------------------------------------------------

def _plain(value: object) -> object:
    """A field as a value to compare: Alma's {"value", "desc", "link"} reduced to its value, empties to ''."""
    if isinstance(value, dict):
        kept = {k: _plain(v) for k, v in value.items() if k not in ("desc", "link")}
        kept = {k: v for k, v in kept.items() if v not in ("", None, [], {})}
        if set(kept) <= {"value"}:
            return kept.get("value", "")
        return kept
    if isinstance(value, list):
        items = [_plain(v) for v in value]
        return [v for v in items if v not in ("", None, [], {})]
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip()


def same(sent: object, got: object) -> bool:
    """True when Alma kept what was sent: each sent part equal, parts Alma adds (desc, link, more keys) ignored.

    >>> same({"value": "11"}, {"value": "11", "desc": "Available"}), same("LIC-1", {"value": "LIC-2"})
    (True, False)
    """
    a, b = _plain(sent), _plain(got)
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same(v, b.get(k)) for k, v in a.items())
    if isinstance(a, dict):
        return not a
    return a == b


def _shown(value: object) -> str:
    plain = _plain(value)
    if isinstance(plain, dict):
        return ", ".join(f"{k}: {v}" for k, v in plain.items())[:80]
    return str(plain)[:80] if plain not in ("", None, []) else ""
