"""Email: the results (or rejection) workbook and a plain-English summary to the people who asked.

    queue = MailQueue(settings.state_dir / "mail-queue")
    send_results(outcome, settings, queue, where=Path("inbox/done/p2e - processed 2026-11-28 1412.xlsx"))

Every message is first written to a small persistent queue in ``STATE_DIR/mail-queue`` and
then sent; a message leaves the queue only once the SMTP server has accepted it. So a mail
server that is down, a wrong password or a crash never loses an email and never holds up
processing: the results are always in the outbox, and :meth:`MailQueue.flush` (called by the
watcher on every look at the inbox, and by ``processor.py run``) sends what is waiting.

Settings used: SMTP_HOST (no email when empty), SMTP_PORT, SMTP_SECURITY (starttls, ssl,
none), SMTP_USER and SMTP_PASSWORD (login when a user is set), MAIL_FROM. Recipients are
``FileOutcome.email_to``: the workbook's "Email results to" addresses plus MAIL_TO.
"""
from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path

from .config import Settings
from .model import Outcome
from .names import clean_text, safe_file_name

log = logging.getLogger("p2e.notify")

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
MAX_ATTEMPTS = 50          # then the message is moved to mail-queue/failed/ and the log says so
SMTP_TIMEOUT = 20.0
# Long subjects stay on one line (RFC 5322 allows 998 characters; Python's folding of
# "P2E clean-up: ..." subjects would otherwise add a leading space some readers show).
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
READ_POLICY = policy.default.clone(max_line_length=998)


# -- composing -------------------------------------------------------------------------------

def subject_for(outcome) -> str:
    """One line a cataloguer can read in an inbox list.

    "P2E clean-up: UIU p2e.xlsx processed - 40 done, 2 failed"
    "P2E clean-up: UIU p2e.xlsx was not processed - 3 problems to fix"

    The file's name is cleaned (a newline in it would make the message impossible to send) and
    shortened as every derived name is (:func:`p2e.names.safe_file_name`).
    """
    source = Path(outcome.source.name)
    name = safe_file_name(source.stem, "", source.suffix, visible=False)
    if outcome.status == "rejected":
        n = len(outcome.problems)
        return clean_text(f"P2E clean-up: {name} was not processed - {n} problem{'s' if n != 1 else ''} to fix")
    parts = [f"{n} {o.value.lower()}" for o, n in sorted(outcome.counts.items(), key=lambda kv: list(Outcome).index(kv[0]))]
    what = {"paused": "paused for today", "stopped": "stopped part-way"}.get(
        outcome.status, "previewed" if outcome.mode.value == "preview" else "processed")
    return clean_text(f"P2E clean-up: {name} {what} - " + (", ".join(parts) or "no rows"))


def body_for(outcome, where: Path | None = None) -> str:
    """The summary from the pipeline, where the staff file now is, and what to do next."""
    lines = ["Hello,", "", outcome.summary(), ""]
    if where is not None:
        lines.append(f"Your file is now: {where}")
    if outcome.results_path:
        lines.append(f"The {'rejection' if outcome.status == 'rejected' else 'results'} workbook is attached "
                     f"and is also in the outbox folder: {outcome.results_path.name}")
    if outcome.status == "rejected":
        lines += ["", "Nothing was changed in Alma. Fix the problems listed in the attached workbook, "
                      "then put the corrected file in the inbox folder again."]
    elif outcome.status == "paused":
        lines += ["", "You do not need to do anything: the file stays in the processing folder and the rest "
                      "runs by itself. You will get another email when it has finished."]
    lines += ["", f"-- the P2E clean-up processor on {socket.gethostname()}"]
    return "\n".join(lines) + "\n"


def compose(outcome, settings: Settings, where: Path | None = None) -> EmailMessage:
    """The email for one file: summary in the body, the results workbook attached."""
    message = EmailMessage()
    message["Subject"] = subject_for(outcome)
    message["From"] = settings.mail_from or f"p2e-cleanup@{socket.getfqdn()}"
    message["To"] = ", ".join(outcome.email_to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="p2e-cleanup")
    message.set_content(body_for(outcome, where))
    if outcome.results_path and Path(outcome.results_path).is_file():
        message.add_attachment(Path(outcome.results_path).read_bytes(), maintype=XLSX_TYPE[0],
                               subtype=XLSX_TYPE[1], filename=Path(outcome.results_path).name)
    return message


# -- sending ---------------------------------------------------------------------------------

def smtp_send(message: EmailMessage, settings: Settings, timeout: float = SMTP_TIMEOUT) -> None:
    """Hand one message to the SMTP server in the settings; raises smtplib/OSError errors."""
    host, port = settings.smtp_host, settings.smtp_port
    if settings.smtp_security == "ssl":
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    with server:
        if settings.smtp_security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            server.login(settings.smtp_user, settings.smtp_password or "")
        server.send_message(message)


def describe_error(exc: BaseException, settings: Settings) -> str:
    """What went wrong, for the log (never the password)."""
    where = f"the mail server {settings.smtp_host}:{settings.smtp_port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"{where} refused the login for SMTP_USER {settings.smtp_user} (check SMTP_USER and SMTP_PASSWORD)"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{where} refused the address(es) {', '.join(exc.recipients)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} answered {exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
    if isinstance(exc, (ConnectionRefusedError, socket.timeout, TimeoutError, socket.gaierror)):
        return f"could not reach {where} ({exc.__class__.__name__}: {exc})"
    return f"{where}: {exc.__class__.__name__}: {exc}"


def is_permanent(exc: BaseException) -> bool:
    """A 5xx refusal of the message itself (not of the login) will not get better by retrying."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)):
        return exc.smtp_code >= 500
    return False


@dataclass
class Queued:
    """One waiting message: ``<id>.eml`` plus ``<id>.json`` (attempts, last error)."""

    path: Path
    attempts: int = 0
    last_error: str = ""

    @property
    def meta_path(self) -> Path:
        return self.path.with_suffix(".json")

    def message(self) -> EmailMessage:
        with open(self.path, "rb") as handle:
            return BytesParser(policy=READ_POLICY).parse(handle)


class MailQueue:
    """A folder of messages waiting to be sent, oldest first. Safe across crashes (write, then rename).

    >>> queue = MailQueue(Path("state/mail-queue"))        # doctest: +SKIP
    >>> queue.put(message); queue.flush(settings)          # doctest: +SKIP
    (1, 0)
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def put(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now():%Y%m%d-%H%M%S-%f}-{uuid.uuid4().hex[:6]}"
        temp = self.folder / f".{name}.tmp"
        with open(temp, "wb") as handle:
            handle.write(message.as_bytes(policy=WIRE_POLICY))
            handle.flush()
            os.fsync(handle.fileno())
        target = self.folder / f"{name}.eml"
        os.replace(temp, target)
        return target

    def waiting(self) -> list[Queued]:
        if not self.folder.is_dir():
            return []
        items = []
        for path in sorted(self.folder.glob("*.eml")):
            item = Queued(path)
            try:
                meta = json.loads(item.meta_path.read_text(encoding="utf-8"))
                item.attempts, item.last_error = int(meta.get("attempts", 0)), str(meta.get("last_error", ""))
            except (OSError, ValueError):
                pass
            items.append(item)
        return items

    def __len__(self) -> int:
        return len(self.waiting())

    def _remove(self, item: Queued) -> None:
        for path in (item.path, item.meta_path):
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def _give_up(self, item: Queued, reason: str) -> None:
        failed = self.folder / "failed"
        failed.mkdir(exist_ok=True)
        os.replace(item.path, failed / item.path.name)
        (failed / item.meta_path.name).write_text(json.dumps({"attempts": item.attempts, "last_error": reason}),
                                                  encoding="utf-8")
        try:
            item.meta_path.unlink()
        except FileNotFoundError:
            pass

    def flush(self, settings: Settings, send=smtp_send) -> tuple[int, int]:
        """Try to send every waiting message, oldest first: (sent, still waiting).

        Stops at the first failure to reach the server (the rest would fail the same way).
        """
        items = self.waiting()
        if not items:
            return 0, 0
        if not settings.smtp_host:
            log.warning("%d email(s) are waiting in %s but SMTP_HOST is not set; they are kept.", len(items), self.folder)
            return 0, len(items)
        sent = 0
        for index, item in enumerate(items):
            message = item.message()
            try:
                send(message, settings)
            except Exception as exc:  # any failure: keep the message, log, try again later
                item.attempts += 1
                item.last_error = describe_error(exc, settings)
                what = f"the email \"{message['Subject']}\" to {message['To']}"
                if is_permanent(exc) or item.attempts >= MAX_ATTEMPTS:
                    self._give_up(item, item.last_error)
                    log.error("Gave up sending %s after %d attempt(s): %s. It is kept in %s.",
                              what, item.attempts, item.last_error, self.folder / "failed")
                    continue
                item.meta_path.write_text(json.dumps({"attempts": item.attempts, "last_error": item.last_error}),
                                          encoding="utf-8")
                log.warning("Could not send %s: %s. It is kept in %s and will be tried again.",
                            what, item.last_error, self.folder)
                return sent, len(items) - index
            self._remove(item)
            sent += 1
            log.info("Sent the email \"%s\" to %s.", message["Subject"], message["To"])
        return sent, 0


def queue_results(outcome, settings: Settings, queue: MailQueue, where: Path | None = None) -> bool:
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


def send_results(outcome, settings: Settings, queue: MailQueue, where: Path | None = None, send=smtp_send) -> bool:
    """Queue the email for ``outcome`` and send the queue now; True when one was queued.

    Never raises for a mail problem: it is logged and the message waits in the queue.
    """
    queued = queue_results(outcome, settings, queue, where)
    if queued:
        try:
            queue.flush(settings, send=send)
        except Exception:
            log.exception("Could not work through the mail queue %s; it is tried again later.", queue.folder)
    return queued
