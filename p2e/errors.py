"""The processor's own exceptions (as opposed to Alma's, in :mod:`p2e.alma.errors`)."""
from __future__ import annotations


class ProcessorError(Exception):
    """Base class for errors raised by the processor itself, not by Alma, the file system or a library.

    Each carries a plain-English message that can be shown to staff or written to the log as is.
    """


class LockLost(ProcessorError):
    """This watcher no longer holds the inbox's lock: another watcher has taken it over.

    Raised by the fence (:meth:`p2e.watch.WatcherLock.fence`, passed to the run as ``ctx.fence``)
    before a row is started or a write is sent. Whoever catches it stops at once: no further row,
    no write to Alma, no results workbook, no email - the other watcher now owns the file.
    """
