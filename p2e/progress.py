"""Progress people can see: a console line, and a small status file on the shared drive.

The status file sits in the outbox beside the results-to-be (``<file> - IN PROGRESS.txt``),
is rewritten every few seconds with the same figures as the console, and disappears when
the results workbook arrives (the pipeline removes it once the results are written).
"""
from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable, TextIO

from .files import write_atomic


class Progress:
    """Counts finished rows and reports them at most every ``every`` seconds."""

    def __init__(self, total: int, *, label: str, calls: Callable[[], int], rate_limit: float | str | None,
                 status_file: Path | None = None, stream: TextIO | None = sys.stderr, every: float = 2.0,
                 already_done: int = 0):
        self.total = total
        self.done = already_done
        self.label = label
        self.calls = calls
        self.rate_limit = rate_limit
        self.status_file = status_file
        self.stream = stream
        self.every = every
        self.not_run = 0  # rows that ended without running (Alma out of reach, daily allowance, stopped)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._start_done = already_done
        self._start_calls = calls()
        self._last = 0.0

    def row_finished(self, count: int = 1, *, not_run: bool = False) -> None:
        """``count`` rows ended: done (whatever their result), or ``not_run`` (they wait for a later run)."""
        with self._lock:
            if not_run:
                self.not_run += count
            else:
                self.done += count
            now = time.monotonic()
            if now - self._last < self.every and self.done + self.not_run < self.total:
                return
            self._last = now
        self.report()

    def figures(self) -> dict:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        rows = self.done - self._start_done
        calls = self.calls() - self._start_calls
        rows_per_s = rows / elapsed
        left = self.total - self.done - self.not_run
        eta = left / rows_per_s if rows_per_s > 0 else None
        return {"done": self.done, "not_run": self.not_run, "total": self.total, "calls": calls,
                "calls_per_s": calls / elapsed,
                "rows_per_s": rows_per_s, "seconds_left": eta, "elapsed": elapsed}

    def line(self) -> str:
        f = self.figures()
        pct = 100 * f["done"] / self.total if self.total else 100
        limit = f" (limit {self.rate_limit:g})" if isinstance(self.rate_limit, (int, float)) else ""
        parts = [f"{self.label}: {f['done']:,} of {self.total:,} rows done ({pct:.0f}%)"]
        if f["not_run"]:
            parts.append(f"{f['not_run']:,} not run")
        if f["elapsed"] >= 1.0 or f["calls"] >= 20:  # a rate over a moment and a call or two says nothing
            parts.append(f"{f['calls_per_s']:.1f} Alma calls per second{limit}")
        if f["done"] + f["not_run"] < self.total:
            parts.append(f"about {_duration(f['seconds_left'])} left" if f["seconds_left"] is not None
                         else "time left not known yet")
        return ", ".join(parts)

    def report(self) -> None:
        text = self.line()
        if self.stream is not None:
            end = "\n" if not getattr(self.stream, "isatty", lambda: False)() else "\r"
            print(text, file=self.stream, end=end, flush=True)
        if self.status_file is not None:
            stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            body = (f"This file is being processed. Results will appear in this folder when it is finished.\n\n"
                    f"{text}\n\nLast updated {stamp}.\n")
            try:
                write_atomic(self.status_file, body)
            except OSError:
                pass  # a status file is a courtesy; never stop a run for it

    def finish(self) -> None:
        if self.stream is not None and getattr(self.stream, "isatty", lambda: False)():
            print(file=self.stream)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
