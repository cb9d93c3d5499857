"""The mail queue: a folder of messages waiting to be sent, oldest first, safe across crashes.

Every message is first written to ``STATE_DIR/mail-queue`` (write, then rename) and leaves it
only once the SMTP server has accepted it. A mail server that is down, a wrong password or a
crash never loses an email; a message the server refuses for good (a 5xx for the message or an
address), or one tried :data:`MAX_ATTEMPTS` times, is set aside in ``mail-queue/failed/``.

>>> queue = MailQueue(Path("state/mail-queue"))        # doctest: +SKIP
>>> queue.put(message); queue.flush(settings)          # doctest: +SKIP
(1, 0)
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Callable

from ..config import Settings
from .smtp import describe_error, is_permanent, smtp_send

log = logging.getLogger("p2e.notify")

MAX_ATTEMPTS = 50          # then the message is moved to mail-queue/failed/ and the log says so
# Long subjects stay on one line (RFC 5322 allows 998 characters; Python's folding of
# "P2E clean-up: ..." subjects would otherwise add a leading space some readers show).
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
READ_POLICY = policy.default.clone(max_line_length=998)

Send = Callable[[EmailMessage, Settings], None]


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
            parsed = BytesParser(EmailMessage, policy=READ_POLICY).parse(handle)
        return parsed


class MailQueue:
    """A folder of messages waiting to be sent, oldest first. Safe across crashes (write, then rename)."""

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

    def flush(self, settings: Settings, send: Send = smtp_send) -> tuple[int, int]:
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
