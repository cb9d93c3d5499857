#!/usr/bin/env python3
"""Benchmark of the rate limiter against the sandbox (issue 13). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_rate.py                   # all four parts, 3,182 rows each
    .venv/bin/python benchmarks/bench_rate.py --part auto10 --rows 300

Four parts, each a whole ``processor.py run`` of delete rows against ``processor.py sandbox``
with 150 ms latency (separate processes, as in bench_engine.py, whose helpers this uses):

* ``fixed25``: Alma at 25 calls/s, the client fixed at ``ALMA_RATE_LIMIT=25``, with a CPU hog
  (a bounded busy loop in another process) beside it. Targets: 0 answers 429, at least 90% of
  the limit.
* ``auto25``: the same as ``fixed25`` with the client on auto (the default): what it costs to
  find the rate (some 429s while it probes Alma's limit, a little below the limit on average).
* ``auto10``: Alma (a sandbox) at 10 calls/s, the client on ``ALMA_RATE_LIMIT=auto``
  (``ALMA_RATE_MAX=50``). Targets: under 1% of calls answered 429, and the run completes.
* ``auto50``: Alma at 50 calls/s, the client on auto. Target: the rate climbs above 40/s.
  More workers (``--workers-auto50``, 16) than the default 8: at 150 ms a call, 8 workers cannot
  send 40 calls a second, and the rate only climbs while the limiter is what holds calls back.

The sandbox stands in for Alma, which runs on its own servers: in every part it gets a higher
priority where the system allows (root), so that a busy machine slows the processor, as it would.
(It counts requests by the moment the kernel received them, so a starved sandbox no longer reads
late requests as a burst: docs/sandbox.md, "When a request arrived".) The rate the run settled at is read from the results
workbook's Summary sheet; "best 10 s" is
the most calls answered in any 10 seconds of the run's audit log, divided by 10.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(PROJECT / "benchmarks"))

import bench_engine  # noqa: E402  (its helpers: free_port, wait_for, high_water_mb, _higher_priority; --build, --hog)

ENGINE = bench_engine.__file__


def run(rows: int, *, server_limit: float, client_limit: str, workers: int, hogs: int, label: str,
        latency_ms: float = 150, rate_max: float = 50) -> dict:
    work = Path(tempfile.mkdtemp(prefix="p2e-bench-rate-"))
    seed = work / "seed.json"
    workbook = work / "inbox" / f"bench {rows} rows.xlsx"
    workbook.parent.mkdir()
    subprocess.run([sys.executable, ENGINE, "--build", str(rows), str(seed), str(workbook)], check=True)
    port = bench_engine.free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen([sys.executable, str(PROJECT / "processor.py"), "sandbox", "--port", str(port), "--seed",
                                str(seed), "--latency", str(latency_ms), "--rate-limit", str(server_limit)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT,
                               preexec_fn=bench_engine._higher_priority)
    hog_procs: list[subprocess.Popen] = []
    try:
        bench_engine.wait_for(url)
        from p2e.sandbox.server import API_KEY

        config = work / "config.env"
        config.write_text(f"ALMA_API_KEY={API_KEY}\nALMA_BASE_URL={url}\nINBOX_DIR={work / 'inbox'}\n"
                          f"OUTBOX_DIR={work / 'outbox'}\nSTATE_DIR={work / 'state'}\nALMA_RATE_LIMIT={client_limit}\n"
                          f"ALMA_RATE_MAX={rate_max:g}\nWORKERS={workers}\nALMA_DAILY_RESERVE=0\n")
        hog_procs = [subprocess.Popen([sys.executable, ENGINE, "--hog", "1800"]) for _ in range(hogs)]
        started = time.monotonic()
        with open(work / "stdout.txt", "w") as stdout, open(work / "stderr.txt", "w") as stderr:
            running = subprocess.Popen([sys.executable, str(PROJECT / "processor.py"), "run", str(workbook), "--config",
                                        str(config)], cwd=PROJECT, stdout=stdout, stderr=stderr)
            peak_mb = 0.0
            while running.poll() is None:
                peak_mb = max(peak_mb, bench_engine.high_water_mb(running.pid))
                time.sleep(0.2)
        wall = time.monotonic() - started
    finally:
        for hog in hog_procs:
            hog.terminate()
            hog.wait()
        sandbox.terminate()
        sandbox.wait()
    if running.returncode not in (0, 1):
        print((work / "stdout.txt").read_text(), (work / "stderr.txt").read_text())
        raise SystemExit(f"processor.py run failed with exit code {running.returncode}")
    return figures(work, rows, wall, server_limit, label, peak_mb, running.returncode)


def figures(work: Path, rows: int, wall: float, server_limit: float, label: str, peak_mb: float, code: int) -> dict:
    import openpyxl

    audit = next((work / "outbox" / "audit").glob("*.jsonl"))
    moments: list[float] = []
    throttled = 0
    for line in audit.open(encoding="utf-8"):
        record = json.loads(line)
        moments.append(datetime.fromisoformat(record["time"]).timestamp())
        throttled += record.get("alma_error") == "PER_SECOND_THRESHOLD"
    best, j = 0, 0
    for i, moment in enumerate(moments):  # the most answers in any 10 seconds
        while moments[j] <= moment - 10.0:
            j += 1
        best = max(best, i - j + 1)
    results = next((work / "outbox").glob("* - results *.xlsx"))
    book = openpyxl.load_workbook(results, read_only=True)
    facts = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True) if r and r[0]}
    results_rows = list(book["Results"].iter_rows(values_only=True))
    book.close()
    header = results_rows[0]
    outcomes = [dict(zip(header, r)).get("Result") for r in results_rows[1:]]
    calls = len(moments)
    return {"label": label, "rows": rows, "wall_s": wall, "calls": calls, "calls_per_s": calls / wall,
            "pct_of_limit": 100 * calls / wall / server_limit, "throttled": throttled,
            "pct_throttled": 100 * throttled / max(calls, 1), "best_10s": best / 10.0, "peak_mb": peak_mb,
            "rate": facts.get("Alma call rate", "(not on the Summary sheet)"), "exit_code": code,
            "done": outcomes.count("Done"), "results": len(outcomes)}


def show(f: dict) -> None:
    print(f"\n== {f['label']}")
    print(f"rows                 {f['rows']:,}; Done {f['done']:,} of {f['results']:,} result rows; exit code {f['exit_code']}")
    print(f"wall time            {f['wall_s']:.1f} s")
    print(f"Alma calls           {f['calls']:,}  ({f['calls'] / f['rows']:.3f} per row)")
    print(f"calls per second     {f['calls_per_s']:.2f}  ({f['pct_of_limit']:.1f}% of the sandbox's limit); "
          f"best 10 s: {f['best_10s']:.1f}/s")
    print(f"429 answers          {f['throttled']}  ({f['pct_throttled']:.2f}% of calls)")
    print(f"rate (Summary sheet) {f['rate']}")
    print(f"processor peak RSS   {f['peak_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("fixed25", "auto25", "auto10", "auto50", "all"), default="all")
    parser.add_argument("--rows", type=int, default=3182)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--workers-auto50", type=int, default=16)
    parser.add_argument("--cpu-hogs", type=int, default=1, help="busy loops beside the processor in parts fixed25 and auto25")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")
    if args.part in ("fixed25", "all"):
        show(run(args.rows, server_limit=25, client_limit="25", workers=args.workers, hogs=args.cpu_hogs,
                 label=f"{args.rows:,} rows, sandbox at 25/s and 150 ms, client fixed at 25/s, "
                       f"{args.cpu_hogs} CPU hog(s) beside it"))
    if args.part in ("auto25", "all"):
        show(run(args.rows, server_limit=25, client_limit="auto", workers=args.workers, hogs=args.cpu_hogs,
                 label=f"{args.rows:,} rows, sandbox at 25/s and 150 ms, client on auto (at most 50/s), "
                       f"{args.cpu_hogs} CPU hog(s) beside it"))
    if args.part in ("auto10", "all"):
        show(run(args.rows, server_limit=10, client_limit="auto", workers=args.workers, hogs=0,
                 label=f"{args.rows:,} rows, sandbox at 10/s and 150 ms, client on auto (at most 50/s)"))
    if args.part in ("auto50", "all"):
        show(run(args.rows, server_limit=50, client_limit="auto", workers=args.workers_auto50, hogs=0,
                 label=f"{args.rows:,} rows, sandbox at 50/s and 150 ms, client on auto (at most 50/s), "
                       f"{args.workers_auto50} workers"))
    print(f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1, 5, 15 min)")


if __name__ == "__main__":
    main()
