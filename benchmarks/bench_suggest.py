#!/usr/bin/env python3
"""Benchmark of the suggestion step (p2e/suggest) against the sandbox. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_suggest.py                  # both routes, 3,182 rows
    .venv/bin/python benchmarks/bench_suggest.py --route sru --rows 500

A labelled library of ``--rows`` P2E titles (the generator's realistic mix, CARLI's 3,182 by
default) with decoys mixed in: for a share of the plain titles the Community Zone twin is
replaced by another edition (other ISBN and OCLC number, same title), a print record (same
identifiers, holdings, no portfolio), a twin whose portfolio is Not Available, two CZ twins, or
a twin matched only by OCLC number (a true twin). The raw P2E report (BIB_ID, title, ISBN, OCLC
number, 856 URL; no Action) goes through the suggestion step with the sandbox at Alma's 25
calls/s and 150 ms latency, the client also at 25/s:

* the collection route: every collection named, SRU off;
* the SRU route: no collection named, SRU on.

Figures: Alma calls per row (SRU calls included), wall time, and the precision and recall of the
delete and relink suggestions against the labels (targets: collection route <= 0.1 calls per
row, SRU route <= 1.2; delete precision 100%: no decoy is ever suggested for delete).
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from p2e.config import load_settings  # noqa: E402
from p2e.demo import write_raw_report  # noqa: E402
from p2e.intake import read_workbook  # noqa: E402
from p2e.sandbox import Sandbox, generate_library  # noqa: E402
from p2e.suggest.file import suggest_workbook  # noqa: E402

DELETE = {"plain", "suppress", "closed_pol_delete", "other_inventory_holding", "other_inventory_portfolio",
          "nz_linked", "staff_mistake_cz", "oclc_only"}
RELINK = {"relink_active_pol", "active_pol_delete"}
DECOYS = ("other_edition", "print_record", "not_available", "two_twins", "oclc_only")


def _isbn13(n: int) -> str:
    body = f"979{n % 10**9:09d}"
    total = sum((1 if i % 2 == 0 else 3) * int(d) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def labelled_library(rows: int, decoy_share: float, random_seed: int = 11):
    """The generator's library with decoys; returns (seed, rows with 'label')."""
    library = generate_library(rows, random_seed=random_seed)
    seed = library.seed
    bibs = {b["mms_id"]: b for b in seed["bibs"]}
    portfolios = {p["id"]: p for p in seed["portfolios"]}
    rng = random.Random(random_seed)
    extra = 0
    for row in library.rows:
        row["label"] = row["scenario"]
        if row["scenario"] != "plain" or rng.random() >= decoy_share:
            continue
        kind = DECOYS[extra % len(DECOYS)]
        extra += 1
        row["label"] = kind
        twin, port = bibs[row["target_mms_id"]], portfolios[row["target_portfolio_id"]]
        if kind == "other_edition":
            twin["isbn"] = _isbn13(900_000 + extra)
            twin["network_numbers"] = [n for n in twin["network_numbers"] if not n.startswith("(OCoLC)")]
            twin["network_numbers"].append(f"(OCoLC)ocn{700_000_000 + extra}")
        elif kind == "print_record":
            twin.pop("linked_record_id", None)
            twin["network_numbers"] = [n for n in twin["network_numbers"] if not n.startswith("(EXLCZ)")]
            seed["portfolios"].remove(port)
            seed["holdings"].append({"id": f"22{9_000_000 + extra}{library.suffix}", "mms_id": twin["mms_id"],
                                     "library": "MAIN", "location": "stacks"})
        elif kind == "not_available":
            port["availability"] = "10"
        elif kind == "two_twins":
            second = dict(twin, mms_id=f"99{800_000_000 + extra}{library.suffix}",
                          linked_record_id={"value": f"99{6_000_000_000 + extra}0101", "type": "CZ"})
            seed["bibs"].append(second)
            seed["portfolios"].append(dict(port, id=f"53{9_000_000 + extra}{library.suffix}", mms_id=second["mms_id"]))
        elif kind == "oclc_only":
            twin["isbn"] = ""
            bibs[row["mms_id"]]["isbn"] = ""
            row["isbn"] = ""
    return library, seed


def expected(label: str) -> str | None:
    return "delete" if label in DELETE else "relink" if label in RELINK else "keep" if label == "keep" else None


def score(rows: list[dict], suggestions: dict) -> dict[str, tuple[int, int, int]]:
    """action -> (suggested, correct, expected)."""
    out = {}
    for action in ("delete", "relink"):
        suggested = correct = wanted = 0
        for i, row in enumerate(rows):
            got = suggestions[i + 3].action
            want = expected(row["label"])
            suggested += got == action
            wanted += want == action
            correct += got == action and want == action
        out[action] = (suggested, correct, wanted)
    return out


def run_route(route: str, library, seed, rows: int, latency_ms: float, rate: float, folder: Path) -> None:
    with Sandbox.start(seed=seed, rate_limit=rate, latency_ms=latency_ms) as sb:
        settings = replace(load_settings(None, environ={}, base_dir=folder), alma_api_key=sb.api_key, base_url=sb.url,
                           rate_limit=rate, mms_id_suffix=library.suffix, outbox_dir=folder / "outbox",
                           institution_code=sb.institution_code if route == "sru" else None,
                           sru_base_url=sb.sru_url if route == "sru" else None)
        names = [c["name"] for c in seed["e_collections"]] if route == "collection" else []
        path = write_raw_report(library.rows, folder / f"bench {route}.xlsx")
        sheet = read_workbook(path)
        started = time.monotonic()
        done = suggest_workbook(path, sheet, settings, collections=names)
        wall = time.monotonic() - started
        writes = sum(1 for r in sb.requests if r["method"] != "GET")
        throttled = sum(1 for r in sb.requests if r.get("status") == 429)
        sru_calls = sum(1 for r in sb.requests if "/view/sru/" in r["path"])
    counts = Counter((s.action or "nothing", s.match) for s in done.run.suggestions.values())
    print(f"\n== {route} route: {rows:,} rows, sandbox at {rate:g} calls/s and {latency_ms:g} ms latency ==")
    print(f"Alma calls: {done.run.calls:,} ({sru_calls:,} of them SRU) = {done.run.calls / rows:.3f} per row")
    print(f"Wall time: {wall:.1f} s ({rows / wall:.1f} rows/s); writes sent: {writes}; 429 answers: {throttled}")
    print("Suggestions: " + ", ".join(f"{a} {m}: {n}" for (a, m), n in sorted(counts.items())))
    for action, (suggested, correct, wanted) in score(library.rows, done.run.suggestions).items():
        precision = 100.0 * correct / suggested if suggested else 100.0
        recall = 100.0 * correct / wanted if wanted else 100.0
        print(f"{action}: {suggested} suggested, {correct} right, {wanted} labelled -> precision {precision:.1f}%, "
              f"recall {recall:.1f}%")
    wrong = Counter(row["label"] for i, row in enumerate(library.rows)
                    if done.run.suggestions[i + 3].action == "delete" and expected(row["label"]) != "delete")
    print("deletes suggested for a row not labelled delete: " + (", ".join(f"{k} {v}" for k, v in wrong.items()) or "none"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--route", choices=("collection", "sru", "both"), default="both")
    parser.add_argument("--rows", type=int, default=3182)
    parser.add_argument("--latency", type=float, default=150, help="sandbox latency per call, ms")
    parser.add_argument("--rate", type=float, default=25, help="sandbox and client calls per second")
    parser.add_argument("--decoys", type=float, default=0.15, help="share of plain titles turned into decoys")
    args = parser.parse_args()
    library, seed = labelled_library(args.rows, args.decoys)
    print(f"Library: {args.rows:,} P2E titles; labels: "
          + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["label"] for r in library.rows).items())))
    print(f"Load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
    with tempfile.TemporaryDirectory() as tmp:
        for route in (("collection", "sru") if args.route == "both" else (args.route,)):
            run_route(route, library, seed, args.rows, args.latency, args.rate, Path(tmp))
    print(f"Load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
