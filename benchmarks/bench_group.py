#!/usr/bin/env python3
"""Benchmark of the group action against the sandbox. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_group.py                 # 300 group rows, no rate limit
    .venv/bin/python benchmarks/bench_group.py --rows 1000 --rate 25

Every row of a generated library (plain P2E rows, a fifth of them with a closed PO line) is marked
``group`` into the seed's local collection "UIU Local P2E titles". Reports the wall time, rows per
second, Alma calls per group row (with and without a PO line, from the audit log) and the calls
by kind. The sandbox runs in this process on loopback.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

import openpyxl  # noqa: E402

from p2e.config import load_settings  # noqa: E402
from p2e.pipeline import process_file  # noqa: E402
from p2e.sandbox import Sandbox, generate_library  # noqa: E402

COLLECTION = "UIU Local P2E titles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0.0, help="client and sandbox calls per second (0: no limit)")
    args = parser.parse_args()
    library = generate_library(args.rows, random_seed=11, mix="realistic")
    rows = [r for r in library.rows if r["scenario"] in ("plain", "closed_pol_delete", "suppress", "keep")]
    work = Path(tempfile.mkdtemp(prefix="bench-group-"))
    book = work / "inbox" / "group bench.xlsx"
    book.parent.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["MMS ID", "Portfolio ID", "Action", "Collection"])
    for r in rows:
        ws.append([r["mms_id"], r["portfolio_id"], "group", COLLECTION])
    wb.save(book)
    options = {"rate_limit": args.rate} if args.rate else {}
    with Sandbox.start(seed=library.seed, **options) as sb:
        base = load_settings(None, environ={}, base_dir=work)
        settings = replace(base, alma_api_key=sb.api_key, base_url=sb.url, rate_limit=args.rate or None, workers=4,
                           inbox_dir=work / "inbox", outbox_dir=work / "outbox", state_dir=work / "state")
        started = time.monotonic()
        outcome = process_file(book, settings, stream=None)
        seconds = time.monotonic() - started
    per_row: Counter = Counter()
    kinds: Counter = Counter()
    for line in outcome.audit_path.read_text(encoding="utf-8").splitlines():
        call = json.loads(line)
        kinds[f"{call['method']} {call['path'].split('/almaws/v1/')[1].split('/')[0]}"] += 1
        if call.get("row"):
            per_row[call["row"]] += 1
    with_pol = {i + 2 for i, r in enumerate(rows) if r["po_line"] or r["scenario"] == "closed_pol_delete"}
    done = Counter(r.outcome.value for r in outcome.results)
    pol_calls = [per_row[n] for n in per_row if n in with_pol]
    plain_calls = [per_row[n] for n in per_row if n not in with_pol]
    total = sum(kinds.values())
    print(f"group rows: {len(rows)}  results: {dict(done)}")
    print(f"wall time: {seconds:.1f} s  rows/s: {len(rows) / seconds:.1f}  rate limit: {args.rate or 'none'}")
    print(f"Alma calls: {total}  per row: {total / len(rows):.2f}")
    if plain_calls:
        print(f"calls per row without a PO line: {sum(plain_calls) / len(plain_calls):.2f}")
    if pol_calls:
        print(f"calls per row with a PO line: {sum(pol_calls) / len(pol_calls):.2f}")
    print("calls by kind:", dict(kinds.most_common()))


if __name__ == "__main__":
    main()
