"""The drop folder: watch the inbox, claim each finished file, process it, file it away, email.

    python processor.py watch          look at INBOX_DIR every POLL_SECONDS until stopped
    python processor.py watch --once   handle what is there now, then exit (cron, Task Scheduler)

The life of a staff file (nothing is overwritten, no staff file is ever deleted)::

    INBOX_DIR/p2e.xlsx                      dropped by staff; left alone while it is still being
                                            copied or saved, or is open in Excel
    INBOX_DIR/processing/p2e.xlsx           claimed with one rename; processed from here. A file
                                            paused on Alma's daily allowance, or interrupted by a
                                            crash or a stop, waits here and is resumed by the watcher
    INBOX_DIR/done/p2e - processed 2026-11-28 1412.xlsx      when it has been processed
    INBOX_DIR/rejected/p2e - rejected 2026-11-28 1412.xlsx   when it could not be processed
    OUTBOX_DIR/p2e - results 2026-11-28 1412.xlsx            (or "- REJECTED ...", "- PREVIEW ...")

One job per file::

    ignore.py       which names in the inbox are not staff files (lock files, system files, temporaries)
    inbox.py        the stability rules: a file is ready once unchanged, closed and whole
    folders.py      processing/, done/, rejected/ and the moves between them; dot-names refused
    lock.py         one watcher per inbox across machines: lock file, heartbeat, fencing
    processes.py    whether a process still runs on this machine (a dead holder's lock is free)
    processing.py   which files in processing/ are due to run again (journal, retry after an error)
    signals.py      Ctrl-C, SIGTERM and Ctrl-Break finish the row in flight, then stop
    watcher.py      the loop: look, claim, call the pipeline, file away, tell by email
    gate.py         the pre-flight check (processor.py check) at start and daily: no file starts while
                    Alma refuses the key; one email per episode
    consortium.py   one watcher per institution (institutions/<CODE>/), each in its own thread

Only one watcher looks after an inbox at a time, even across machines sharing the folder: see
:class:`WatcherLock`. The watcher calls :func:`p2e.pipeline.process_file`, exactly as
``processor.py run FILE`` does, and sends mail through :class:`p2e.notify.Delivery`, as ``run`` does.
"""
from .folders import Folders, InboxMissing, claim, file_away, hidden_name_rejection
from .ignore import ignore_reason
from .inbox import INCOMPLETE_GRACE_SECONDS, Inbox, is_whole, lock_files_for
from .lock import DEFAULT_LOCK_STALE_SECONDS, LOCK_NAME, LockInfo, WatcherLock
from .processing import RETRY_AFTER_ERROR_SECONDS, Processing
from .signals import stop_on_signals
from .watcher import EXIT_ANOTHER_WATCHER, SETTLE_SECONDS, Watcher, watch
from .gate import KeyGate
from .consortium import watch_consortium

__all__ = ["DEFAULT_LOCK_STALE_SECONDS", "EXIT_ANOTHER_WATCHER", "INCOMPLETE_GRACE_SECONDS", "LOCK_NAME",
           "RETRY_AFTER_ERROR_SECONDS", "SETTLE_SECONDS", "Folders", "Inbox", "InboxMissing", "LockInfo",
           "Processing", "Watcher", "WatcherLock", "claim", "file_away", "hidden_name_rejection", "ignore_reason",
           "is_whole", "lock_files_for", "stop_on_signals", "watch", "KeyGate", "watch_consortium"]
