"""Snapshots taken before every write, exactly as Alma returned the records.

Layout, one folder per run and one per row::

    STATE_DIR/backups/<run id>/row-0012/
        manifest.json                 what the row was about to do (read by restore)
        bib--99553996612205899.json   the bib as Alma returned it
        bib--99553996612205899.xml    its MARCXML record, ready for POST /bibs
        portfolio--5312345670005899.json
        po-line--POL-1234.json
        target-portfolio--53987...json (relink: the portfolio that receives the PO line)

The results workbook names each row's folder, and ``processor.py restore`` reads it back.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path


class BackupStore:
    """Writes a run's snapshots. Safe to use from several threads (one folder per row)."""

    def __init__(self, root: Path, run_id: str):
        self.folder = root / run_id
        self.run_id = run_id

    def row_folder(self, row_number: int) -> Path:
        return self.folder / f"row-{row_number:04d}"

    def save(self, row_number: int, kind: str, ident: str, record: dict) -> Path:
        folder = self.row_folder(row_number)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{kind}--{_safe(ident)}.json"
        _write_atomic(path, json.dumps(record, indent=2, ensure_ascii=False))
        if kind == "bib":
            marcxml = marc_record(record)
            if marcxml:
                _write_atomic(folder / f"bib--{_safe(ident)}.xml", marcxml)
        return path

    def save_manifest(self, row_number: int, manifest: dict) -> Path:
        folder = self.row_folder(row_number)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "manifest.json"
        _write_atomic(path, json.dumps(manifest, indent=2, ensure_ascii=False))
        return path


def load_row_backup(folder: Path) -> dict:
    """Everything saved for one row: {'manifest': ..., 'bib': {...}, 'portfolio': {...}, 'po-line': {...}, ...}."""
    found: dict = {}
    manifest = folder / "manifest.json"
    found["manifest"] = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}
    for path in sorted(folder.glob("*.json")):
        if path.name == "manifest.json":
            continue
        kind, _, ident = path.stem.partition("--")
        found.setdefault(kind, {})[ident] = json.loads(path.read_text(encoding="utf-8"))
    return found


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


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
