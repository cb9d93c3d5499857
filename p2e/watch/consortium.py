"""One ``processor.py watch`` for a whole consortium: one :class:`Watcher` per institution, in parallel.

Each institution's watcher runs in its own thread (named ``p2e-<CODE>``, which routes its log
lines to its own log), with its own settings, so its own inbox and lock, journal, backups,
audit log, mail queue, Alma client, limiter and daily budget: nothing is shared but the process.
One institution's trouble stays its own:

* a refused key shuts only its gate (:mod:`~p2e.watch.gate`); a used-up daily allowance pauses
  only its files; a slow or throttling Alma slows only its own thread;
* a share that is missing waits inside its own watcher (``wait_for_inbox``); one that breaks it
  otherwise (unwritable, say) stops that watcher, which is started again after
  :data:`RESTART_SECONDS` while the others carry on;
* a setting that is wrong stops that institution only, with the message in the log.

    watch_consortium(registry.institutions)              # processor.py watch (institutions/ present)
    watch_consortium(registry.institutions, once=True)   # processor.py watch --once
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from ..config import ConfigError
from ..institutions import THREAD_PREFIX, Institution
from ..pipeline import EXIT_OK, EXIT_REJECTED
from .lock import DEFAULT_LOCK_STALE_SECONDS
from .signals import stop_on_signals
from .watcher import Watcher

log = logging.getLogger("p2e.watch")

RESTART_SECONDS = 60.0  # a watcher stopped by an unexpected error is started again after this long


class Serving:
    """One institution's watcher, in its own thread, started again after an unexpected stop."""

    def __init__(self, institution: Institution, once: bool, restart_seconds: float, **options):
        self.institution = institution
        self.once = once
        self.restart_seconds = restart_seconds
        self.options = options
        self.stop = threading.Event()
        self.exit_code = EXIT_OK
        self.thread = threading.Thread(target=self.serve, name=THREAD_PREFIX + institution.code, daemon=True)

    def serve(self) -> None:
        code = self.institution.code
        while not self.stop.is_set():
            try:
                watcher = Watcher(self.institution.settings, stop=self.stop, **self.options)
                code_now = watcher.run_once() if self.once else watcher.run_forever()
                self.exit_code = max(self.exit_code, code_now)
                return
            except ConfigError as exc:
                log.error("%s: %s This institution's watcher stops; the others carry on. Put the setting "
                          "right, then restart the service.", code, exc)
                self.exit_code = EXIT_REJECTED
                return
            except Exception as exc:
                log.exception("%s: the watcher stopped unexpectedly (%s). The other institutions carry on%s.", code,
                              exc, "" if self.once else f"; this one starts again in {self.restart_seconds:g} seconds")
                self.exit_code = max(self.exit_code, 1)
                if self.once:
                    return
                self.stop.wait(self.restart_seconds)


def watch_consortium(institutions: Sequence[Institution], once: bool = False, *,
                     stop: threading.Event | None = None, lock_stale_after: float = DEFAULT_LOCK_STALE_SECONDS,
                     settle_seconds: float | None = None, restart_seconds: float = RESTART_SECONDS,
                     **options: Any) -> int:
    """Serve every institution until ``stop`` (or, ``once``, until each has handled what is there now).

    Returns the highest exit code of the institutions' watchers (see :func:`p2e.watch.watch`).
    """
    stop = stop or threading.Event()
    servings = [Serving(inst, once, restart_seconds, lock_stale_after=lock_stale_after,
                        settle_seconds=settle_seconds, **options) for inst in institutions]
    log.info("Serving %d institutions: %s.", len(servings), ", ".join(s.institution.code for s in servings))
    with stop_on_signals(stop):
        for serving in servings:
            serving.thread.start()
        while any(s.thread.is_alive() for s in servings):
            if stop.wait(0.2):
                for serving in servings:
                    serving.stop.set()
                break
        for serving in servings:
            serving.thread.join()
    return max((s.exit_code for s in servings), default=EXIT_OK)
