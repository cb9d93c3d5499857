"""Snapshots taken before every write, exactly as Alma returned the records.

Layout, one folder per run and one per row::

    STATE_DIR/backups/<run id>/row-0012/
        backup.json                   what the row was about to do, and every record it was about
                                      to change, as Alma returned them (read by restore)
        bib--99553996612205899.xml    the bib's MARCXML record, for a person (or POST /bibs)

``backup.json`` is written to a temporary file, flushed to disk (fsync) and renamed, so it is
whole and durable before the write it protects is sent. The results workbook names each
row's folder, and ``processor.py restore`` reads it back.

>>> store = BackupStore(Path(tempfile.mkdtemp()), "run-1")
>>> folder = store.save_row(12, {"mms_id": "991"}, {"bib": ("991", {"mms_id": "991"})})
>>> load_row_backup(folder)["bib"]["991"]
{'mms_id': '991'}
"""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from .files import write_atomic


class BackupStore:
    """Writes a run's snapshots. Safe to use from several threads (one folder per row)."""

    def __init__(self, root: Path, run_id: str):
        self.folder = root / run_id
        self.run_id = run_id

    def row_folder(self, row_number: int) -> Path:
        return self.folder / f"row-{row_number:04d}"

    def saved_rows(self) -> dict[int, Path]:
        """Every row of this run that has a backup: row number -> its folder."""
        found = {}
        for path in sorted(self.folder.glob("row-*/backup.json")):
            try:
                found[int(path.parent.name[4:])] = path.parent
            except ValueError:
                continue
        return found

    def save_row(self, row_number: int, manifest: dict, records: dict[str, tuple[str, dict]]) -> Path:
        """Save ``records`` ({kind: (ID, record)}) and the row's manifest; returns the row's folder."""
        folder = self.row_folder(row_number)
        folder.mkdir(parents=True, exist_ok=True)
        document = {"manifest": manifest}
        for kind, (ident, record) in records.items():
            document.setdefault(kind, {})[ident] = record
        write_atomic(folder / "backup.json", json.dumps(document, indent=1, ensure_ascii=False), durable=True)
        if "bib" in records:
            ident, bib = records["bib"]
            marcxml = marc_record(bib)
            if marcxml:
                write_atomic(folder / f"bib--{_safe(ident)}.xml", marcxml)
        return folder


    def note(self, row_number: int, **facts: str) -> None:
        """Add what a write made (a new portfolio's ID, say) to the row's manifest, for restore."""
        folder = self.row_folder(row_number)
        document = load_row_backup(folder)
        document.setdefault("manifest", {}).update(facts)
        write_atomic(folder / "backup.json", json.dumps(document, indent=1, ensure_ascii=False), durable=True)


def load_row_backup(folder: Path) -> dict:
    """Everything saved for one row: {'manifest': {...}, 'bib': {id: {...}}, 'portfolio': {...}, ...}."""
    path = Path(folder) / "backup.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"manifest": {}}


def marc_record(bib: dict) -> str | None:
    """The MARCXML ``<record>`` held in a bib's JSON ``anies`` (without the XML declaration)."""
    anies = bib.get("anies")
    if isinstance(anies, list):
        anies = anies[0] if anies else None
    if not anies:
        return None
    return re.sub(r"^<\?xml[^>]*\?>", "", str(anies).strip()).strip()


def _safe(ident: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", str(ident))
