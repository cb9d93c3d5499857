#!/usr/bin/env python3
"""How fast the sandbox answers the suggestion step's reads. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_sandbox_sru.py            # 3,182 rows (CARLI's example)
    .venv/bin/python benchmarks/bench_sandbox_sru.py --rows 20000

On a twins library (p2e/sandbox/twins.py), with the sandbox's latency and limits off so only
the sandbox itself is measured: the first SRU query (it builds the index), then one OR-ed
ISBN query per row through SruClient, then every portfolio of every CZ collection through
AlmaClient.iter_service_portfolios and their bibs through get_bibs(expand=e_avail). The
sandbox must not be what limits a 25 calls/s benchmark: it should answer well above 25/s.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2e.alma.client import AlmaClient  # noqa: E402
from p2e.alma.sru import SruClient, cql_any  # noqa: E402
from p2e.sandbox import Sandbox, generate_twins_library  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3182)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), {os.cpu_count()} CPUs")
    started = time.perf_counter()
    lib = generate_twins_library(args.rows, random_seed=1)
    print(f"twins library: {args.rows} rows, {len(lib.seed['bibs'])} bibs, {len(lib.seed['portfolios'])} portfolios "
          f"in {time.perf_counter() - started:.2f} s")
    with Sandbox.start(seed=lib.seed) as sb:
        alma = AlmaClient(sb.url, sb.api_key, rate_limit=None)
        sru = SruClient(sb.sru_url, alma)
        t = time.perf_counter()
        sru.search("alma.mms_id=0")
        print(f"first SRU query (builds the index): {time.perf_counter() - t:.2f} s")
        labels = lib.seed["labels"]
        t = time.perf_counter()
        hits = 0
        for lab in labels:
            ids = lab["identifiers"]
            query = cql_any("alma.isbn", [ids["isbn"]]) if ids["isbn"] else cql_any("alma.issn", [ids["issn"]])
            hits += sru.search(query).total
        took = time.perf_counter() - t
        print(f"SRU: {len(labels)} ISBN/ISSN queries in {took:.2f} s = {len(labels) / took:.0f} queries/s ({hits} records)")
        t = time.perf_counter()
        before = alma.stats.calls
        mms: list[str] = []
        for coll in alma.list_collections():
            if coll["is_local"]:
                continue
            for service in alma.list_services(coll["id"]):
                mms += [p["resource_metadata"]["mms_id"]["value"] for p in alma.iter_service_portfolios(coll["id"], service["id"])]
        bibs = alma.get_bibs(mms, expand="e_avail")
        took = time.perf_counter() - t
        calls = alma.stats.calls - before
        print(f"collection route: {len(mms)} CZ portfolios and {len(bibs)} bibs in {calls} calls, {took:.2f} s "
              f"= {calls / took:.0f} calls/s")
        alma.close()


if __name__ == "__main__":
    main()
