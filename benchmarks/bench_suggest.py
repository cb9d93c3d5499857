#!/usr/bin/env python3
"""Benchmark of the suggestion step (p2e/suggest) against the sandbox. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_suggest.py                  # both routes, 3,182 rows
    .venv/bin/python benchmarks/bench_suggest.py --route sru --rows 500

The sandbox's labelled library (``generate_twins_library``: true twins, a twin with an ISBN-10,
one matched only by OCLC number, journals by ISSN, twins with an open order, and the decoys:
another edition, a print record, a twin Not Available, two twins, a P2E portfolio in a
collection, no twin at all) of ``--rows`` titles (CARLI's 3,182 by default). Its raw P2E report
(no Action filled in) goes through the suggestion step with the sandbox at Alma's 25 calls/s
and 150 ms latency, the client also at 25/s:

* the collection route: every collection named, SRU off;
* the SRU route: no collection named, SRU on.

Figures: Alma calls per row (SRU calls included), wall time, and the precision and recall of the
delete and relink suggestions against the labels (targets: collection route <= 0.1 calls per
row, SRU route <= 1.2; delete precision 100%: no decoy is ever suggested for delete).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from p2e.config import load_settings  # noqa: E402
from p2e.intake import read_workbook  # noqa: E402
from p2e.sandbox import Sandbox, write_workbook  # noqa: E402
from p2e.sandbox.twins import generate_twins_library, score  # noqa: E402
from p2e.suggest.file import suggest_workbook  # noqa: E402

def labelled_library(rows: int, random_seed: int = 11):
    return generate_twins_library(rows, random_seed=random_seed)


def run_route(route: str, library, rows: int, latency_ms: float, rate: float, folder: Path) -> None:
    seed = library.seed
    with Sandbox.start(seed=seed, rate_limit=rate, latency_ms=latency_ms) as sb:
        settings = replace(load_settings(None, environ={}, base_dir=folder), alma_api_key=sb.api_key, base_url=sb.url,
                           rate_limit=rate, mms_id_suffix=library.suffix, outbox_dir=folder / "outbox",
                           institution_code=sb.institution_code if route == "sru" else None,
                           sru_base_url=sb.sru_url if route == "sru" else None)
        names = [c["name"] for c in seed["e_collections"] if not c.get("is_local")] if route == "collection" else []
        path = write_workbook(library, folder / f"bench {route}.xlsx", raw=True)
        sheet = read_workbook(path)
        started = time.monotonic()
        done = suggest_workbook(path, sheet, settings, collections=names)
        wall = time.monotonic() - started
        writes = sum(1 for r in sb.requests if r["method"] != "GET")
        throttled = sum(1 for r in sb.requests if r.get("status") == 429)
        sru_calls = sum(1 for r in sb.requests if "/view/sru/" in r["path"])
    counts = Counter((s.action or "nothing", s.match) for s in done.run.suggestions.values())
    got = {label["portfolio_id"]: (done.run.suggestions[row.number].action or "",
                                   done.run.suggestions[row.number].target_mms_id or "")
           for row, label in zip(sheet.rows, seed["labels"])}
    figures = score(seed["labels"], got)
    print(f"\n== {route} route: {rows:,} rows, sandbox at {rate:g} calls/s and {latency_ms:g} ms latency ==")
    print(f"Alma calls: {done.run.calls:,} ({sru_calls:,} of them SRU) = {done.run.calls / rows:.3f} per row")
    print(f"Wall time: {wall:.1f} s ({rows / wall:.1f} rows/s); writes sent: {writes}; 429 answers: {throttled}")
    print("Suggestions: " + ", ".join(f"{a} {m}: {n}" for (a, m), n in sorted(counts.items())))
    for action in ("delete", "relink"):
        f = figures[action]
        print(f"{action}: {f['suggested']} suggested, {f['right']} right (action and target), {f['expected']} labelled "
              f"-> precision {100 * f['precision']:.1f}%, recall {100 * f['recall']:.1f}%")
    print("decoys suggested for delete: " + (", ".join(figures["decoys_deleted"]) or "none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--route", choices=("collection", "sru", "both"), default="both")
    parser.add_argument("--rows", type=int, default=3182)
    parser.add_argument("--latency", type=float, default=150, help="sandbox latency per call, ms")
    parser.add_argument("--rate", type=float, default=25, help="sandbox and client calls per second")
    args = parser.parse_args()
    library = labelled_library(args.rows)
    print(f"Library: {args.rows:,} P2E titles; kinds: "
          + ", ".join(f"{k} {v}" for k, v in sorted(Counter(lab["kind"] for lab in library.seed["labels"]).items())))
    print(f"Load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
    with tempfile.TemporaryDirectory() as tmp:
        for route in (("collection", "sru") if args.route == "both" else (args.route,)):
            run_route(route, library, args.rows, args.latency, args.rate, Path(tmp))
    print(f"Load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
