"""A file that waits for Alma (a refused API key, Alma unreachable) is told about once, not once per try.

The watcher (and cron's ``watch --once``) tries a waiting file again every few minutes; only
the first try of each episode sends an email to MAIL_TO. What was told is kept in
``STATE_DIR/waiting-notices.json`` (run ID -> "key" or "outage"), so separate processes agree.
A new email goes only when the reason changes, or when the file ran again and then had to
wait again (:func:`forget_told` is called whenever the file runs).
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from ..config import Settings
from ..files import write_atomic
from .compose import MailedOutcome, compose_waiting
from .queue import MailQueue

log = logging.getLogger("p2e.waiting")
NOTICES = "waiting-notices.json"
_lock = threading.Lock()


def _path(settings: Settings) -> Path:
    return Path(settings.state_dir) / NOTICES


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(path: Path, data: dict[str, str]) -> None:
    write_atomic(path, json.dumps(data))


def tell_once(settings: Settings, run_id: str, kind: str) -> bool:
    """True (and remembered) when this run's wait for ``kind`` has not been told yet."""
    with _lock:
        path = _path(settings)
        data = _read(path)
        if data.get(run_id) == kind:
            return False
        data[run_id] = kind
        try:
            _write(path, data)
        except OSError as exc:
            log.warning("Could not remember in %s that the wait was told (%s); it may be told again.", path, exc)
        return True


def forget_told(settings: Settings, run_id: str) -> None:
    """The file ran: the next wait (if any) is a new episode and is told again."""
    with _lock:
        path = _path(settings)
        data = _read(path)
        if run_id in data:
            data.pop(run_id)
            try:
                _write(path, data)
            except OSError:
                pass


def queue_waiting_mail(outcome: MailedOutcome, settings: Settings, queue: MailQueue, where: Path | None = None) -> bool:
    """Queue the one email for a waiting file (to MAIL_TO); False when it was told already or cannot be."""
    if not settings.smtp_host or not outcome.email_to:
        log.warning("%s waits: %s (no email: %s).", outcome.source.name, outcome.reason,
                    "SMTP_HOST is not set" if not settings.smtp_host else "MAIL_TO is empty")
        return False
    if not tell_once(settings, outcome.run_id, outcome.reason_kind):
        log.info("%s still waits (%s); the email about it was sent before.", outcome.source.name, outcome.reason_kind)
        return False
    queue.put(compose_waiting(outcome, settings, where))
    return True
