#!/usr/bin/env python3
"""Benchmark of consortium mode: many institutions served by one watcher. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_consortium.py                      # 10 institutions x 1,000 rows
    .venv/bin/python benchmarks/bench_consortium.py --institutions 3 --rows 100   # a quick look

Each institution has its own Alma: a sandbox in its own process, with its own API key, at
25 calls/s and 150 ms latency, holding the same generated library of delete rows. One
``processor.py watch`` (the long-running service, in its own process) serves every institution
from ``institutions/<CODE>/config.env``, each client at ``--client-limit`` (default 25). Per
institution it prints the calls per second over its own run (first to last call in its audit
log) as a share of its limit, the answers 429, and its wall time; and the processor's peak memory
(VmHWM, sampled every 0.2 s). ``--sandbox-priority`` runs the sandboxes at a higher priority (as
``bench_engine.py`` does beside CPU hogs). The sandboxes count each request at the moment the
kernel received it (docs/sandbox.md), the clients at the moment they wrote it (p2e/alma/sending.py). Targets (issue 13): every institution at 90% or more of its limit,
0 answers 429.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine  # noqa: E402  (its --build makes the library and workbook)
from bench_engine import free_port, high_water_mb, wait_for  # noqa: E402

ENGINE = bench_engine.__file__


def serve_sandbox(seed: str, port: int, latency_ms: float, limit: float, key: str) -> None:
    """One institution's Alma (run in its own process): a sandbox that knows only this institution's key."""
    import json as _json

    from p2e.sandbox import Sandbox

    sb = Sandbox.start(seed=_json.loads(Path(seed).read_text()), port=port, latency_ms=latency_ms, rate_limit=limit)
    sb.api_key = key
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


def higher_priority() -> None:
    """Run in each sandbox's process before it starts (``--sandbox-priority``); needs root, else nothing."""
    try:
        os.nice(-10)
    except OSError:
        pass


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, from /proc; 0 once it has gone."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def audit_figures(outbox: Path, limit: float) -> dict:
    calls = throttled = 0
    first = last = None
    for path in (outbox / "audit").glob("*.jsonl"):
        for line in path.open(encoding="utf-8"):
            record = json.loads(line)
            calls += 1
            throttled += record.get("alma_error") == "PER_SECOND_THRESHOLD"
            when = datetime.fromisoformat(record["time"])
            first = when if first is None or when < first else first
            last = when if last is None or when > last else last
    span = (last - first).total_seconds() if first and last and last > first else 0.0
    rate = calls / span if span else 0.0
    return {"calls": calls, "throttled": throttled, "span_s": span, "calls_per_s": rate, "pct": 100 * rate / limit}


def main() -> None:
    if len(sys.argv) == 7 and sys.argv[1] == "--serve":
        serve_sandbox(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--institutions", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=25, help="each sandbox's per-second threshold")
    parser.add_argument("--latency", type=float, default=150, help="each sandbox's latency, ms")
    parser.add_argument("--client-limit", default="25", help="ALMA_RATE_LIMIT of every institution")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--sandbox-priority", action="store_true",
                        help="run the sandboxes (standing in for Alma's own servers) at a higher priority, so that a "
                             "busy machine slows the processor and not 'Alma's' clock (as bench_engine.py with hogs)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="p2e-bench-consortium-"))
    seed, workbook = work / "seed.json", work / "library.xlsx"
    subprocess.run([sys.executable, ENGINE, "--build", str(args.rows), str(seed), str(workbook)], check=True)
    (work / "config.env").write_text(f"ALMA_RATE_LIMIT={args.client_limit}\nWORKERS={args.workers}\n"
                                     "ALMA_DAILY_RESERVE=0\nPOLL_SECONDS=1\n")
    codes = [f"I{n:02d}" for n in range(1, args.institutions + 1)]
    sandboxes, urls = [], {}
    try:
        for code in codes:
            port = free_port()
            key = f"l8xx-bench-{code.lower()}-key"
            sandboxes.append(subprocess.Popen([sys.executable, __file__, "--serve", str(seed), str(port),
                                               str(args.latency), str(args.limit), key],
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=PROJECT,
                                              preexec_fn=higher_priority if args.sandbox_priority else None))
            urls[code] = f"http://127.0.0.1:{port}"
            folder = work / "institutions" / code
            (folder / "inbox").mkdir(parents=True)
            (folder / "config.env").write_text(f"ALMA_BASE_URL={urls[code]}\nALMA_API_KEY={key}\n")
            shutil.copy(workbook, folder / "inbox" / f"{code} P2E clean-up.xlsx")
        for url in urls.values():
            wait_for(url)
        started = time.monotonic()
        finished: dict[str, float] = {}
        with open(work / "watch.log", "w") as log:
            watcher = subprocess.Popen([sys.executable, str(PROJECT / "processor.py"), "watch", "--config",
                                        str(work / "config.env")], cwd=PROJECT, stdout=log, stderr=subprocess.STDOUT)
            peak_mb = cpu = 0.0
            while len(finished) < len(codes) and time.monotonic() - started < args.timeout:
                peak_mb = max(peak_mb, high_water_mb(watcher.pid))
                cpu = cpu_seconds(watcher.pid) or cpu
                for code in codes:
                    if code not in finished and list((work / "institutions" / code / "outbox").glob("* - results *.xlsx")):
                        finished[code] = time.monotonic() - started
                if watcher.poll() is not None:
                    break
                time.sleep(0.2)
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(timeout=600)
        wall = time.monotonic() - started
    finally:
        for sb in sandboxes:
            sb.terminate()
            sb.wait()

    print(f"\n== {len(codes)} institutions x {args.rows:,} delete rows; each sandbox at {args.limit:g} calls/s and "
          f"{args.latency:g} ms latency{' (higher priority)' if args.sandbox_priority else ''}; clients at "
          f"ALMA_RATE_LIMIT={args.client_limit}; one watcher process")
    print(f"{'institution':<12}{'calls':>7}{'429s':>6}{'run s':>8}{'calls/s':>9}{'of limit':>10}{'done after s':>14}")
    total_throttled = 0
    shares = []
    for code in codes:
        f = audit_figures(work / "institutions" / code / "outbox", args.limit)
        total_throttled += f["throttled"]
        shares.append(f["pct"])
        done = f"{finished[code]:.0f}" if code in finished else "not done"
        print(f"{code:<12}{f['calls']:>7}{f['throttled']:>6}{f['span_s']:>8.1f}{f['calls_per_s']:>9.2f}"
              f"{f['pct']:>9.1f}%{done:>14}")
    print(f"all institutions: {len(finished)}/{len(codes)} finished in {wall:.0f} s; 429 answers {total_throttled}; "
          f"share of limit min {min(shares):.1f}% / max {max(shares):.1f}%")
    print(f"processor peak RSS   {peak_mb:.0f} MB  (VmHWM of the one watcher process, sampled every 0.2 s)")
    print(f"processor CPU time   {cpu:.0f} s in {wall:.0f} s, {cpu / wall:.2f} of one core on average "
          "(a Python process runs its threads on one core at a time)")
    print(f"work folder          {work}  (watch.log, each institution's outbox, audit and state)")


if __name__ == "__main__":
    main()
