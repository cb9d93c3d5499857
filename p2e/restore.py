"""Restore: re-create in Alma what a run deleted, from the run's own journal and backups.

Alma's own undo (Manage Deleted Repository) restores at most 5,000 records per job, only
the last action of a user, and is fiddly to search. So, for each row of a run that deleted
something, ``python processor.py restore RESULTS.xlsx``:

1. re-creates the bib from its saved MARCXML when it is gone (``POST /bibs``; Alma gives it a
   new MMS ID), or takes suppression off again when the run only suppressed it;
2. re-creates the portfolio on that bib from its saved JSON (``POST /bibs/{mms}/portfolios``);
3. for a relinked row, points the PO line back at the restored bib and puts the kept
   portfolio's PO line back as it was, then attaches the PO line to the restored portfolio;
4. for a grouped row (the bib was kept), re-creates the standalone portfolio with its PO line and
   deletes the portfolio the run made in the collection (``bib=retain``);
5. reads each write back, and writes a restore results workbook with the new IDs.

It also writes the deleted MMS IDs (and portfolio IDs) as plain lists, in files of at most
5,000 IDs, for staff who prefer Alma's Manage Deleted Repository. A restore that is run
twice does not create twice: what it made is remembered in ``STATE_DIR/restored.json``.
"""
from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .alma import records as R
from .alma.audit import AuditLog
from .alma.client import AlmaClient
from .alma.errors import AlmaError
from .backup import BackupStore, load_row_backup, marc_record
from .config import Settings
from .files import write_atomic
from .journal import Journal
from .names import STEM_BYTES, safe_file_name, unique_path
from .report import read_results, read_summary, write_id_lists, write_restore_results

MDR_BATCH = 5000  # Manage Deleted Repository restores at most 5,000 records per job
EXIT_NO_RECORDS = 2  # the run's journal and backups are not in this STATE_DIR


@dataclass
class Restored:
    row: int
    old_mms_id: str
    old_portfolio_id: str
    new_mms_id: str = ""
    new_portfolio_id: str = ""
    po_line: str = ""
    result: str = "Restored"  # Restored | Partly restored | Already restored | Nothing to restore | Failed
    details: str = ""


def bib_xml_for_restore(bib: dict, suppressed: bool | None = None) -> str:
    """A ``<bib>`` body for POST /bibs from a saved bib: its MARC record without Alma's own fields.

    Dropped: 001 (Alma assigns a new MMS ID), AVA/AVE/AVD (inventory fields Alma generates) and
    the (EXLCZ)/(EXLNZ-…) 035s Alma adds when it serves a linked record.
    """
    record = marc_record(bib) or ""
    record = re.sub(r'<controlfield tag="001">[^<]*</controlfield>', "", record)
    record = re.sub(r'<datafield[^>]*tag="AV[AED]"[^>]*>.*?</datafield>', "", record, flags=re.S)
    record = re.sub(r'<datafield[^>]*tag="035"[^>]*>\s*<subfield code="a">\((?:EXLCZ|EXLNZ-[^)]*)\)[^<]*</subfield>\s*</datafield>',
                    "", record, flags=re.S)
    flag = R.is_suppressed(bib) if suppressed is None else suppressed
    return (f"<bib><suppress_from_publishing>{'true' if flag else 'false'}</suppress_from_publishing>"
            f"{record}</bib>")


def portfolio_for_restore(portfolio: dict, mms_id: str, po_line: str | None) -> dict:
    body = copy.deepcopy(portfolio)
    for key in ("id", "link"):
        body.pop(key, None)
    body["resource_metadata"] = {"mms_id": {"value": mms_id}}
    body["po_line"] = {"value": po_line or ""}
    return body


class Restorer:
    def __init__(self, client: AlmaClient, ledger_path: Path):
        self.client = client
        self.ledger_path = ledger_path
        self.ledger = json.loads(ledger_path.read_text(encoding="utf-8")) if ledger_path.exists() else {}

    def _remember(self, key: str, value: str) -> None:
        self.ledger[key] = value
        write_atomic(self.ledger_path, json.dumps(self.ledger, indent=1))

    def restore_row(self, row: int, folder: Path) -> Restored:
        saved = load_row_backup(folder)
        manifest = saved["manifest"]
        old_mms, old_pid = manifest.get("mms_id") or "", manifest.get("portfolio_id") or ""
        out = Restored(manifest.get("row") or row, old_mms, old_pid, po_line=manifest.get("po_line") or "")
        bib = (saved.get("bib") or {}).get(old_mms)
        portfolio = (saved.get("portfolio") or {}).get(old_pid)
        if manifest.get("action") == "group" and portfolio:
            with self.client.for_row(row):
                try:
                    self._restore_group(out, portfolio, manifest)
                except AlmaError as exc:
                    out.result = "Failed"
                    out.details = (out.details + " " if out.details else "") + f"Alma refused: {exc}."
            return out
        if not bib or not portfolio:
            out.result, out.details = "Failed", f"The backup in {folder} does not hold the bib and the portfolio."
            return out
        with self.client.for_row(row):
            try:
                self._restore(out, bib, portfolio, saved, manifest)
            except AlmaError as exc:
                out.result = "Failed"
                out.details = (out.details + " " if out.details else "") + f"Alma refused: {exc}."
        return out

    def _restore(self, out: Restored, bib: dict, portfolio: dict, saved: dict, manifest: dict) -> None:
        notes = []
        # 1. The bib: still there (kept or suppressed), or re-created from its MARCXML.
        current = self.client.get_bib_or_none(out.old_mms_id, view="brief")
        if current is not None:
            out.new_mms_id = out.old_mms_id
            if R.is_suppressed(current) and not R.is_suppressed(bib):
                full = self.client.get_bib(out.old_mms_id)
                self.client.request("PUT", f"/bibs/{out.old_mms_id}", xml_body=bib_xml_for_restore(full, suppressed=False))
                notes.append(f"took the suppression off bib {out.old_mms_id}")
        else:
            key = f"bib:{out.old_mms_id}"
            out.new_mms_id = self.ledger.get(key) or ""
            if not out.new_mms_id or self.client.get_bib_or_none(out.new_mms_id, view="brief") is None:
                created = self.client.create_bib(bib_xml_for_restore(bib))
                out.new_mms_id = str(created.get("mms_id"))
                self._remember(key, out.new_mms_id)
                notes.append(f"re-created bib {out.old_mms_id} as {out.new_mms_id}")
                link_type, link = R.bib_link(bib)
                if link_type == "NZ":
                    notes.append(f"it is now a local bib: link it to the Network Zone record {link} in Alma if needed")
        # 2. The PO line, for a relinked row: back to the restored bib, off the kept portfolio.
        po_number = manifest.get("po_line") or R.po_line_number(portfolio)
        attach = R.po_line_number(portfolio) or ""
        if manifest.get("action") == "relink" and po_number:
            try:
                self._unrelink(out, po_number, saved, manifest, notes)
            except AlmaError as exc:
                # Alma does not move a PO line away from a Community Zone record (SLCNY guide; the sandbox
                # models it): leave the order where the run put it and say so.
                out.result = "Partly restored"
                attach = ""
                notes.append(f"PO line {po_number} stays on the record you kept ({manifest.get('target_mms_id')}): "
                             f"Alma refused to move it back ({exc}); move it by hand if it should follow the "
                             "restored record")
        # 3. The portfolio.
        if self.client.get_portfolio_or_none(out.new_mms_id, out.old_portfolio_id) is not None:
            out.new_portfolio_id = out.old_portfolio_id
            if not notes:
                out.result, out.details = "Nothing to restore", "The portfolio and its bib are in Alma."
                return
        else:
            key = f"portfolio:{out.old_portfolio_id}"
            out.new_portfolio_id = self.ledger.get(key) or ""
            if not out.new_portfolio_id or self.client.get_portfolio_or_none(out.new_mms_id, out.new_portfolio_id) is None:
                created = self.client.create_portfolio(out.new_mms_id, portfolio_for_restore(portfolio, out.new_mms_id, attach))
                out.new_portfolio_id = str(created.get("id"))
                self._remember(key, out.new_portfolio_id)
                if self.client.get_portfolio_or_none(out.new_mms_id, out.new_portfolio_id) is None:
                    raise AlmaError(f"portfolio {out.new_portfolio_id} was not found after it was created",
                                    code="read-back")
                notes.append(f"re-created portfolio {out.old_portfolio_id} as {out.new_portfolio_id}")
        if not notes:
            out.result = "Already restored"
            out.details = f"Restored earlier as bib {out.new_mms_id} with portfolio {out.new_portfolio_id}."
            return
        out.details = _sentence(notes)

    def _restore_group(self, out: Restored, portfolio: dict, manifest: dict) -> None:
        """A grouped row: the standalone portfolio again (with its PO line), and the collection's one deleted."""
        mms, number = out.old_mms_id, out.po_line
        out.new_mms_id = mms  # group keeps the bib
        made_in_collection = manifest.get("new_portfolio_id") or ""
        notes = []
        key = f"portfolio:{out.old_portfolio_id}"
        untouched = self.client.get_portfolio_or_none(mms, out.old_portfolio_id) is not None
        if untouched:
            out.new_portfolio_id = out.old_portfolio_id
        else:
            out.new_portfolio_id = self.ledger.get(key) or ""
            if not out.new_portfolio_id or self.client.get_portfolio_or_none(mms, out.new_portfolio_id) is None:
                created = self.client.create_portfolio(mms, portfolio_for_restore(portfolio, mms, number))
                out.new_portfolio_id = str(created.get("id"))
                self._remember(key, out.new_portfolio_id)
                back = self.client.get_portfolio_or_none(mms, out.new_portfolio_id)
                if back is None or (number and R.po_line_number(back) != number):
                    raise AlmaError(f"portfolio {out.new_portfolio_id} does not read back as created", code="read-back")
                notes.append(f"re-created standalone portfolio {out.old_portfolio_id} as {out.new_portfolio_id}"
                             + (f" with PO line {number}" if number else ""))
        if made_in_collection and self.client.get_portfolio_or_none(mms, made_in_collection) is not None:
            self.client.delete_portfolio(mms, made_in_collection, bib="retain")
            if self.client.get_portfolio_or_none(mms, made_in_collection) is not None:
                raise AlmaError(f"portfolio {made_in_collection} is still there after its delete", code="read-back")
            notes.append(f"deleted portfolio {made_in_collection} from collection {manifest.get('collection_id')} "
                         f"(bib {mms} kept)")
        if not notes and untouched and not made_in_collection:
            out.result, out.details = "Nothing to restore", (f"Standalone portfolio {out.old_portfolio_id} is still on "
                                                             f"bib {mms}, and nothing was made in a collection.")
            return
        if not notes:
            out.result = "Already restored"
            out.details = f"Restored earlier: standalone portfolio {out.new_portfolio_id} is on bib {mms}."
            return
        out.details = _sentence(notes)

    def _unrelink(self, out: Restored, po_number: str, saved: dict, manifest: dict, notes: list[str]) -> None:
        po_line = self.client.get_po_line(po_number)
        if R.po_line_bib(po_line) != out.new_mms_id:
            changed = copy.deepcopy(po_line)
            changed.setdefault("resource_metadata", {})["mms_id"] = {"value": out.new_mms_id}
            self.client.update_po_line(po_number, changed)
            if R.po_line_bib(self.client.get_po_line(po_number)) != out.new_mms_id:
                raise AlmaError(f"PO line {po_number} still does not point to {out.new_mms_id}", code="read-back")
            notes.append(f"pointed PO line {po_number} back to {out.new_mms_id}")
        target_mms, target_pid = manifest.get("target_mms_id"), manifest.get("target_portfolio_id")
        saved_target = (saved.get("target-portfolio") or {}).get(target_pid or "")
        if target_mms and target_pid and saved_target is not None:
            now = self.client.get_portfolio_or_none(target_mms, target_pid)
            if now is not None and R.po_line_number(now) != R.po_line_number(saved_target):
                restored = copy.deepcopy(now)
                restored["po_line"] = {"value": R.po_line_number(saved_target)}
                self.client.update_portfolio(target_mms, target_pid, restored)
                notes.append(f"put portfolio {target_pid}'s PO line back as it was")


def restore(results_path: Path, settings: Settings, stream=None) -> int:
    """Restore what the run behind ``results_path`` changed; returns the exit code.

    The workbook only names the run (the Run ID on its Summary sheet). What the run did comes from
    its own records in STATE_DIR: the journal (every write it sent) and the backups (every record
    as it was). So a workbook whose columns were lost or edited restores all the same, and a run
    whose records are missing is said to be, with exit code 2, never "0 restored" and success.
    """
    stream = stream or sys.stdout
    results_path = Path(results_path)
    name = results_path.name
    run_id = read_summary(results_path).get("Run ID", "").strip()
    if not run_id:
        raise ValueError(f"{name} has no Run ID on its Summary sheet: is it a results workbook from this processor?")
    journal = Journal.in_state_dir(settings)
    try:
        known = journal.knows_run(run_id)
        written = journal.written_rows(run_id)
        recorded = journal.recorded_results(run_id)
    finally:
        journal.close()
    store = BackupStore(settings.state_dir / "backups", run_id)
    saved = store.saved_rows()
    done_in_book = sum(1 for r in read_results(results_path) if r.get("Result") == "Done")
    if not known and not saved:
        print(f"No record of run {run_id} (the run behind {name}) was found in {settings.state_dir}. Restore works "
              "from the journal and backups a run leaves there: run it on the machine that processed the file, "
              "with the same STATE_DIR. Nothing was changed in Alma.", file=stream)
        return EXIT_NO_RECORDS
    todo = sorted(set(written) | set(saved))
    if not todo:
        if done_in_book:
            print(f"{name} reports {done_in_book} row(s) Done, but the journal in {settings.state_dir} holds no "
                  f"change made by run {run_id}, and there are no backups for it. Nothing was restored; check that "
                  "STATE_DIR is the one the run used.", file=stream)
            return EXIT_NO_RECORDS
        print(f"Nothing to restore: run {run_id} ({name}) changed nothing in Alma.", file=stream)
        return 0

    when = datetime.now()
    stem = safe_file_name(results_path.stem, f" - restore {when:%Y-%m-%d %H%M}", limit=STEM_BYTES)
    audit = AuditLog(settings.outbox_dir / "audit" / f"{stem}.jsonl", settings.secrets())
    client = AlmaClient.from_settings(settings, audit=audit)
    restorer = Restorer(client, settings.state_dir / "restored.json")
    done: list[Restored] = []
    try:
        for row in todo:
            folder = saved.get(row)
            if folder is None:
                ids = recorded.get(row) or {}
                done.append(Restored(row, ids.get("mms_id") or "", ids.get("portfolio_id") or "", result="Failed",
                                     details=f"The run changed this row in Alma, but its backup is missing (expected "
                                             f"in {store.row_folder(row)}). Restore it in Alma's Manage Deleted "
                                             "Repository: its IDs are in the lists beside these results."))
                continue
            done.append(restorer.restore_row(row, folder))
    finally:
        client.close()
        audit.close()
    target = unique_path(settings.outbox_dir, stem, ".xlsx")
    write_restore_results(target, name, done)
    ids = {r.row: r for r in done}
    deleted_bibs = [rec["mms_id"] for row, rec in recorded.items() if row in written and rec.get("bib") == "deleted"]
    deleted_portfolios = [ids[row].old_portfolio_id for row, steps in written.items()
                          if "delete_portfolio" in steps and row in ids]
    lists = write_id_lists(settings.outbox_dir, safe_file_name(results_path.stem, " - deleted MMS IDs",
                                                               limit=STEM_BYTES - 8), deleted_bibs, MDR_BATCH)
    lists += write_id_lists(settings.outbox_dir, safe_file_name(results_path.stem, " - deleted portfolio IDs",
                                                                limit=STEM_BYTES - 8), deleted_portfolios, MDR_BATCH)
    failed = sum(1 for r in done if r.result == "Failed")
    restored = sum(1 for r in done if r.result == "Restored")
    partly = sum(1 for r in done if r.result == "Partly restored")
    print(f"Restore of {name}: {restored} row(s) restored, {partly} partly restored, "
          f"{failed} failed, {len(done) - restored - partly - failed} restored earlier or with nothing to restore.",
          file=stream)
    print(f"Restore results: {target}", file=stream)
    for path in lists:
        print(f"ID list for Alma's Manage Deleted Repository: {path}", file=stream)
    return 1 if failed else 0


def _sentence(notes: list[str]) -> str:
    """What a restore did, as one sentence.

    >>> _sentence(["re-created portfolio 53 as 54", "moved PO line POL-1 back"])
    'Re-created portfolio 53 as 54; moved PO line POL-1 back.'
    """
    text = "; ".join(notes) + "."
    return text[0].upper() + text[1:]
