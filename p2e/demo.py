"""The demo: the whole job on the embedded Alma sandbox, with no Alma key.

It starts the sandbox on a free loopback port, seeds it with a small I-Share-like library
(P2E standalone portfolios and their Community-Zone-linked duplicates, a few with PO lines,
other inventory or a Network Zone link). First, a suggestion run: the raw P2E report (BIB_ID,
title, identifiers, 856 URL; no Action) comes back as ``<file> - SUGGESTED <date>.xlsx`` with
the actions filled in, reading Alma only. Then it puts the matching annotated P2E workbook in a
demo inbox, processes it exactly as ``run`` would, writes the results workbook to the outbox and
prints a plain-English summary, then checks the sandbox's state against the results.

One more row shows ``group``: a P2E title the library keeps, with no Community Zone twin, moved into
the seed's local collection (the results then have a Next steps in Alma sheet).
"""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import xlsxwriter

from .config import Settings, load_settings
from .model import Outcome
from .pipeline import process_file
from .xlsx import text_format, write_text

GROUP_COLLECTION = "UIU Local P2E titles"  # the seed's local collection (p2e/sandbox/seed.py)


def add_group_row(seed: dict, workbook: Path, suffix: str) -> tuple[str, str]:
    """A P2E title kept locally (bib and standalone portfolio) added to ``seed``, and its group row to the
    workbook (with a Collection column); returns its MMS ID and portfolio ID."""
    import openpyxl
    from openpyxl.worksheet.worksheet import Worksheet

    mms, pid = f"99{8_888_888}{suffix}", f"53{8_888_888}{suffix}"
    seed["bibs"].append({"mms_id": mms, "title": "Illinois local history sources (P2E, kept locally)"})
    seed["portfolios"].append({"id": pid, "mms_id": mms, "url": "https://digital.library.illinois.edu/local/8888888",
                               "public_note": "UIU only"})
    book = openpyxl.load_workbook(workbook)
    ws = book.active
    assert isinstance(ws, Worksheet)  # write_workbook's one sheet
    header = next(r for r in ws.iter_rows(min_row=1, max_row=10) if any(c.value == "Action" for c in r))
    columns = {c.value: int(c.column or 0) for c in header if c.value}
    collection = ws.max_column + 1
    ws.cell(int(header[0].row or 0), collection, "Collection")
    row = ws.max_row + 1
    for name, value in (("MMS ID", mms), ("Portfolio ID", pid), ("Action", "group")):
        ws.cell(row, columns[name], value).number_format = "@"
    ws.cell(row, collection, GROUP_COLLECTION)
    book.save(workbook)
    return mms, pid


def run_demo(project: Path, *, settings: Settings | None = None, rows: int = 12, random_seed: int = 7,
             stream=None) -> int:
    from .sandbox import Sandbox, generate_library, write_workbook

    stream = stream or sys.stdout
    base = settings or load_settings(None, environ={}, base_dir=project)
    demo_dir = base.state_dir / "demo"
    library = generate_library(rows, random_seed=random_seed)
    seed = dict(library.seed, bibs=list(library.seed["bibs"]), portfolios=list(library.seed["portfolios"]))
    demo_dir.mkdir(parents=True, exist_ok=True)
    workbook = demo_dir / "inbox" / f"UIU P2E clean-up demo {datetime.now():%Y-%m-%d %H%M%S}.xlsx"
    workbook.parent.mkdir(parents=True, exist_ok=True)
    write_workbook(library, workbook)
    grouped_mms, grouped_pid = add_group_row(seed, workbook, library.suffix)
    with Sandbox.start(seed=seed) as sandbox:
        settings = replace(base, alma_api_key=sandbox.api_key, base_url=sandbox.url, region=None,
                           inbox_dir=demo_dir / "inbox", state_dir=demo_dir / "state",
                           outbox_dir=base.outbox_dir, mail_to=[], smtp_host=None,
                           source="the demo's own settings")
        raw = write_raw_report(library.rows, settings.inbox_dir / f"UIU P2E report demo {datetime.now():%Y-%m-%d %H%M%S}.xlsx")
        print(f"Started the Alma sandbox at {sandbox.url} with {len(library.rows) + 1} P2E titles.", file=stream)
        print(f"1. A suggestion run on the raw P2E report {raw.name} (reads only):", file=stream)
        suggested = process_file(raw, replace(settings, mms_id_suffix=library.suffix,
                                              institution_code=sandbox.institution_code, sru_base_url=sandbox.sru_url),
                                 stream=stream)
        print(suggested.summary(), file=stream)
        writes = [r for r in sandbox.requests if r["method"] != "GET"]
        print(f"Checked the sandbox: the suggestion run sent {len(writes)} writes.", file=stream)
        if writes:
            return 1
        print("", file=stream)
        print("2. The annotated workbook (one row grouped into a local collection), processed:", file=stream)
        print(f"Sample workbook: {workbook}", file=stream)
        outcome = process_file(workbook, settings, stream=stream)
        print("", file=stream)
        print(outcome.summary(), file=stream)
        state = sandbox.state()
    done = [r for r in outcome.results if r.outcome is Outcome.DONE and r.portfolio_id]
    gone = [r for r in done if r.grouped is None]
    still_there = [r.portfolio_id for r in gone if r.portfolio_id and r.portfolio_id in state["portfolios"]]
    grouped = [r for r in done if r.grouped is not None]
    in_place = [r for r in grouped if r.grouped and r.grouped.old_portfolio_id not in state["portfolios"]
                and str((state["portfolios"].get(r.portfolio_id or "") or {}).get("electronic_collection", {})
                        .get("id", {}).get("value")) == r.grouped.collection_id]
    print("", file=stream)
    print(f"Checked the sandbox afterwards: {len(gone) - len(still_there)} of the {len(gone)} portfolios reported "
          "Done are gone from it" + (f"; still there: {', '.join(still_there)}" if still_there else "."), file=stream)
    print(f"{len(in_place)} of the {len(grouped)} grouped portfolios are now in collection '{GROUP_COLLECTION}' "
          f"(bib {grouped_mms} kept, standalone portfolio {grouped_pid} gone).", file=stream)
    return 1 if still_there or len(in_place) != len(grouped) else outcome.exit_code


def write_raw_report(rows: list[dict], path: Path) -> Path:
    """The raw P2E report CARLI left in the library's Box folder, for a generated library: a title row, then
    BIB_ID, Title, ISBN/ISSN, OCLC Number and 856 URL; no Action column (a suggestion request)."""
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                               "strings_to_urls": False})
    try:
        ws = workbook.add_worksheet("P2E")
        text = text_format(workbook)
        ws.set_column(0, 4, 18, text)
        write_text(ws, 0, 0, "UIU P2E report - e-resources")
        for col, heading in enumerate(["BIB_ID", "Title", "ISBN/ISSN", "OCLC Number", "856 URL"]):
            write_text(ws, 1, col, heading)
        for i, row in enumerate(rows, start=2):
            bib = row["voyager_bib_id"]
            for col, value in enumerate([bib, row["title"], row.get("isbn"), f"ocn{800_000_000 + int(bib)}", row["url"]]):
                if value:
                    write_text(ws, i, col, value, text)
    finally:
        workbook.close()
    return path
