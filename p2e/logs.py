"""Logging for the watcher and the command line: a rotating log file, and secrets kept out of it.

    log_file = setup_logging(settings)          # STATE_DIR/logs/p2e.log, plus the console
    logging.getLogger("p2e.watch").info("Processed %s", name)

Every handler :func:`setup_logging` installs carries a :class:`SecretFilter`, so the Alma API
key and the SMTP password are replaced by ``****`` wherever they would appear: in a message,
in its arguments, or in the traceback of a logged exception.

>>> record = logging.LogRecord("p2e", logging.INFO, "", 0, "key is %s", ("l8xx-secret",), None)
>>> SecretFilter(["l8xx-secret"]).filter(record), record.getMessage()
(True, 'key is ****')
"""
from __future__ import annotations

import enum
import logging
import logging.handlers
import re
import sys
from pathlib import Path
from typing import Iterable, TextIO

from .config import Settings

MASK = "****"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
MAX_BYTES = 5 * 1024 * 1024   # one log file; with BACKUP_COUNT about 50 MB of history at most
BACKUP_COUNT = 10

# An API key written after "apikey" (query string or Authorization header), even one we were not told about.
_APIKEY_PATTERN = re.compile(r"(?i)(apikey[=: ]+)([A-Za-z0-9_\-]{6,})")


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and anything after ``apikey=``) replaced by ``****``.

    >>> mask("GET /bibs?apikey=l8xxabc123 failed; password hunter2", ["hunter2"])
    'GET /bibs?apikey=**** failed; password ****'
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _APIKEY_PATTERN.sub(lambda m: m.group(1) + MASK, text)


class SecretFilter(logging.Filter):
    """Rewrite each record so no secret survives formatting; never drops a record."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = mask(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = mask(record.stack_info, self.secrets)
        return True


def log_path(settings: Settings) -> Path:
    return settings.state_dir / "logs" / "p2e.log"


class _Console(enum.Enum):
    STDERR = "the standard error stream as it is when setup_logging is called"


def setup_logging(settings: Settings, *, console: TextIO | None | _Console = _Console.STDERR, level: int = logging.INFO,
                  console_level: int = logging.INFO) -> Path:
    """Send log records to ``STATE_DIR/logs/p2e.log`` (rotated) and to ``console``; return the file's path.

    ``console`` is the standard error stream by default (as it is at the time of the call), or
    ``None`` for the file only.

    Calling it again replaces the handlers it installed before (tests, or settings that changed).
    """
    path = log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_p2e", False)]:
        root.removeHandler(handler)
        handler.close()
    secret_filter = SecretFilter(settings.secrets())
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT,
                                                        encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handlers: list[logging.Handler] = [file_handler]
    stream = sys.stderr if console is _Console.STDERR else console
    if stream is not None:
        stream_handler = logging.StreamHandler(stream)
        stream_handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        stream_handler.setLevel(console_level)
        handlers.append(stream_handler)
    for handler in handlers:
        handler.addFilter(secret_filter)
        handler._p2e = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(min(level, console_level))
    file_handler.setLevel(level)
    for noisy in ("urllib3", "mail.log", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
