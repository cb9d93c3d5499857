"""Pausing Python's cyclic garbage collector while a stage builds or walks many small objects.

Intake builds hundreds of thousands of rows, strings and lists, and validation walks them, with no
reference cycles among them; the cyclic collector, triggered by the allocations, would rescan them
all again and again (a 100,000-row file: intake took half as long again, validation twice as long).
Objects are still freed as usual when nothing refers to them. Threads (one per institution in a
consortium) share the collector: it runs again when the last of them leaves.

>>> import gc
>>> with collector_paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_inside = 0
_was_enabled = True


@contextmanager
def collector_paused() -> Iterator[None]:
    global _inside, _was_enabled
    with _lock:
        if _inside == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _inside += 1
    try:
        yield
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0 and _was_enabled:
                gc.enable()
