"""Email: the results (or rejection) workbook and a plain-English summary to the people who asked.

One path for every email, used by ``processor.py run`` and by the watcher::

    compose.py    the subject, the body and the attached workbook for one file's outcome
    queue.py      STATE_DIR/mail-queue: a message leaves it only once the SMTP server has accepted it
    smtp.py       hand one message to the mail server; plain words for why it would not take it
    waiting.py    a file waiting for Alma is told about once per episode, not once per try
    delivery.py   Delivery: compose, queue, send now, and back off while the server is away

    Delivery(settings).tell(outcome, where=Path("inbox/done/p2e - processed 2026-11-28 1412.xlsx"))

So a mail server that is down, a wrong password or a crash never loses an email and never holds
up processing: the results are always in the outbox, and what waits in the queue is sent by the
next ``processor.py run`` or at the watcher's next look at the inbox.

Settings used: SMTP_HOST (no email when empty), SMTP_PORT, SMTP_SECURITY (starttls, ssl,
none), SMTP_USER and SMTP_PASSWORD (login when a user is set), MAIL_FROM. Recipients are
``FileOutcome.email_to``: the workbook's "Email results to" addresses plus MAIL_TO.
"""
from .compose import MailedOutcome, body_for, compose, compose_waiting, subject_for, subject_for_waiting
from .delivery import Delivery, queue_results, send_results
from .queue import MAX_ATTEMPTS, MailQueue, Queued
from .smtp import describe_error, is_permanent, smtp_send
from .waiting import forget_told, queue_waiting_mail, tell_once

__all__ = ["MAX_ATTEMPTS", "Delivery", "MailQueue", "MailedOutcome", "Queued", "body_for", "compose",
           "compose_waiting", "describe_error", "forget_told", "is_permanent", "queue_results",
           "queue_waiting_mail", "send_results", "smtp_send", "subject_for", "subject_for_waiting", "tell_once"]
