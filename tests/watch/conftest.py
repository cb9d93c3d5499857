"""Helpers for the watcher's tests: the long-running watcher in a thread, and Alma checked against the results."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from p2e.watch import watch


def assert_alma_matches(sb, library, rows: list[dict]) -> None:
    state = sb.state()
    assert len(rows) == len(library.rows)
    for expected, got in zip(library.rows, rows):
        assert got["Result"] == expected["expected_outcome"], (expected["scenario"], got["Details"])
        assert (expected["portfolio_id"] in state["portfolios"]) == (got["Result"] != "Done")


@contextmanager
def watcher_thread(settings, **options):
    """The long-running watcher (``processor.py watch``) in a thread; stopped and joined on exit."""
    stop = threading.Event()
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", watch(settings, stop=stop, **options)),
                              daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=20)
        assert not thread.is_alive()
