"""Stopping cleanly: Ctrl-C, SIGTERM (systemd, NSSM) and Ctrl-Break finish the row in flight, then exit.

    with stop_on_signals(stop):     # stop is a threading.Event the watcher and the pipeline look at
        watcher.run_forever()
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, Callable, Union

log = logging.getLogger("p2e.watch")

# What signal.signal takes and gives back: a function, SIG_DFL / SIG_IGN, or None (set outside Python).
Handler = Union[Callable[[int, Union[FrameType, None]], Any], int, signal.Handlers, None]


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C, SIGTERM (systemd, NSSM) and Ctrl-Break set ``stop``: the row in flight finishes, then exit.

    A second Ctrl-C stops at once. Only installs handlers in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    names = [n for n in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, n)]
    previous: dict[int, Handler] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("Stopping (%s): finishing the row in flight and saving the journal; press Ctrl-C again to "
                    "stop at once.", signal.Signals(signum).name)
        stop.set()

    for name in names:
        number = getattr(signal, name)
        previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
