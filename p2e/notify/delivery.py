"""The one path mail takes: compose, queue, then send what waits, backing off while the server is away.

``processor.py run`` and the watcher both tell a file's outcome through a :class:`Delivery`::

    Delivery(settings).tell(outcome)                       # run: queued, then sent at once
    mail = Delivery(settings, retry_seconds=60)            # the watcher keeps one for its life
    mail.tell(outcome, where=done_path)                    # queued, sent unless the server is in back-off
    mail.deliver()                                         # every look at the inbox: what still waits

A message that cannot be sent waits in the queue (:class:`~p2e.notify.queue.MailQueue`). After
a failed send the next try waits ``retry_seconds``, then twice that, and so on up to an hour;
one message sent resets the wait. A mail problem never raises: it is logged.
"""
from __future__ import annotations

import logging
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from ..config import Settings
from .compose import MailedOutcome, compose
from .queue import MailQueue, Send
from .smtp import smtp_send
from .waiting import queue_waiting_mail

log = logging.getLogger("p2e.notify")

QUEUE_FOLDER = "mail-queue"     # inside STATE_DIR
MAX_BACK_OFF_SECONDS = 3600.0


def queue_results(outcome: MailedOutcome, settings: Settings, queue: MailQueue, where: Path | None = None) -> bool:
    """Put the email for ``outcome`` in the queue (sent by :meth:`MailQueue.flush`); True when queued."""
    if not settings.smtp_host:
        log.info("No email for %s: SMTP_HOST is not set. The results are in %s.", outcome.source.name,
                 settings.outbox_dir)
        return False
    if not outcome.email_to:
        log.info("No email for %s: the workbook has no 'Email results to' address and MAIL_TO is empty.",
                 outcome.source.name)
        return False
    try:
        queue.put(compose(outcome, settings, where))
    except Exception:
        log.exception("Could not prepare the email for %s; the results are in %s.", outcome.source.name,
                      settings.outbox_dir)
        return False
    return True


class Delivery:
    """Compose and queue the email for a file, and send what waits in the queue, with back-off.

    ``stopped``: an event set when this process may no longer send (the watcher lost its lock:
    the queue is the other watcher's now).
    """

    def __init__(self, settings: Settings, *, queue: MailQueue | None = None, retry_seconds: float = 60.0,
                 send: Send = smtp_send, stopped: threading.Event | None = None):
        self.settings = settings
        self.queue = queue if queue is not None else MailQueue(Path(settings.state_dir) / QUEUE_FOLDER)
        self.retry_seconds = retry_seconds
        self.send = send
        self.stopped = stopped
        self._failures = 0
        self._next_try = 0.0    # monotonic time before which only deliver(force=True) sends

    def tell(self, outcome: MailedOutcome, where: Path | None = None) -> bool:
        """Queue the email for ``outcome`` (a waiting file: once per episode) and send; True when queued."""
        if outcome.status == "waiting":
            queued = queue_waiting_mail(outcome, self.settings, self.queue, where)
        else:
            queued = queue_results(outcome, self.settings, self.queue, where)
        if queued:
            self.deliver()
        return queued

    def deliver(self, force: bool = False) -> None:
        """Send what waits in the queue, unless a recent failure says wait (``force``: send anyway)."""
        if self.stopped is not None and self.stopped.is_set():
            return
        if not force and time.monotonic() < self._next_try:
            return
        try:
            self.queue.flush(self.settings, send=self._send_and_count)
        except Exception:
            log.exception("Could not work through the mail queue %s; it is tried again later.", self.queue.folder)

    def _send_and_count(self, message: EmailMessage, settings: Settings) -> None:
        try:
            self.send(message, settings)
        except Exception:
            self._failures += 1
            self._next_try = time.monotonic() + min(MAX_BACK_OFF_SECONDS,
                                                    self.retry_seconds * 2 ** (self._failures - 1))
            raise
        self._failures = 0


def send_results(outcome: MailedOutcome, settings: Settings, queue: MailQueue, where: Path | None = None,
                 send: Send = smtp_send) -> bool:
    """Queue the email for ``outcome`` and send the queue now; True when one was queued.

    Never raises for a mail problem: it is logged and the message waits in the queue.
    """
    return Delivery(settings, queue=queue, send=send).tell(outcome, where)
