"""Email through a real SMTP server on loopback: summary, attachment, queue, retries, no secrets."""
from __future__ import annotations

import io
import logging
import socket
from collections import Counter
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from p2e.config import load_settings
from p2e.logs import setup_logging
from p2e.model import Outcome, Problem
from p2e.notify import MailQueue, compose, send_results
from p2e.pipeline import FileOutcome


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the loopback SMTP server received: parsed messages, plus envelope recipients."""

    def __init__(self):
        self.messages = []
        self.recipients = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def attachment(self, index: int = 0):
        """(file name, workbook opened with openpyxl) of the message's attachment."""
        part = next(self.messages[index].iter_attachments())
        return part.get_filename(), openpyxl.load_workbook(io.BytesIO(part.get_content()), read_only=True)


def start_smtp(port: int | None = None, **options) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    mailbox.port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port, **options)
    controller.start()
    return controller, mailbox


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (free port); yields its Mailbox."""
    controller, mailbox = start_smtp()
    yield mailbox
    controller.stop()


def mail_settings(tmp_path: Path, port: int, **overrides):
    base = load_settings(None, environ={"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
                                       "MAIL_FROM": "p2e@library.example.edu",
                                       "MAIL_TO": "systems@library.example.edu"}, base_dir=tmp_path)
    return replace(base, **overrides)


def a_results_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "Results"
    wb.active.append(["Row", "Result", "Details"])
    wb.active.append([3, "Done", "Portfolio 5312 deleted"])
    wb.save(path)
    return path


def processed_outcome(tmp_path: Path) -> FileOutcome:
    results = a_results_workbook(tmp_path / "UIU p2e - results 2026-11-28 1412.xlsx")
    return FileOutcome(tmp_path / "UIU p2e.xlsx", "processed", results_path=results,
                       counts=Counter({Outcome.DONE: 40, Outcome.FAILED: 2}),
                       email_to=["cat@library.example.edu", "systems@library.example.edu"])


def rejected_outcome(tmp_path: Path) -> FileOutcome:
    results = a_results_workbook(tmp_path / "UIU p2e - REJECTED 2026-11-28 1412.xlsx")
    problems = [Problem("Excel rounded this MMS ID: format the column as Text and paste it again", row=4),
                Problem("The Action 'remove' is not delete, relink or keep", row=9)]
    return FileOutcome(tmp_path / "UIU p2e.xlsx", "rejected", results_path=results, problems=problems,
                       email_to=["systems@library.example.edu"])


def test_the_results_email_has_a_summary_and_the_workbook_attached(tmp_path, smtp_server):
    settings = mail_settings(tmp_path, smtp_server.port)
    queue = MailQueue(tmp_path / "state" / "mail-queue")
    where = tmp_path / "inbox" / "done" / "UIU p2e - processed 2026-11-28 1412.xlsx"

    assert send_results(processed_outcome(tmp_path), settings, queue, where=where) is True

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "P2E clean-up: UIU p2e.xlsx processed - 40 done, 2 failed"
    assert message["From"] == "p2e@library.example.edu"
    assert smtp_server.recipients[0] == ["cat@library.example.edu", "systems@library.example.edu"]
    body = message.get_body(("plain",)).get_content()
    assert "40 done, 2 failed" in body
    assert f"Your file is now: {where}" in body
    assert "UIU p2e - results 2026-11-28 1412.xlsx" in body
    name, workbook = smtp_server.attachment()
    assert name == "UIU p2e - results 2026-11-28 1412.xlsx"
    assert list(workbook["Results"].iter_rows(values_only=True))[1] == (3, "Done", "Portfolio 5312 deleted")
    assert len(queue) == 0


def test_a_rejection_email_lists_the_first_problems_and_says_nothing_changed(tmp_path, smtp_server):
    settings = mail_settings(tmp_path, smtp_server.port)
    send_results(rejected_outcome(tmp_path), settings, MailQueue(tmp_path / "q"))
    message = smtp_server.messages[0]
    assert message["Subject"] == "P2E clean-up: UIU p2e.xlsx was not processed - 2 problems to fix"
    body = message.get_body(("plain",)).get_content()
    assert "Excel rounded this MMS ID" in body and "The Action 'remove'" in body
    assert "Nothing was changed in Alma" in body
    assert smtp_server.attachment()[0] == "UIU p2e - REJECTED 2026-11-28 1412.xlsx"


def test_a_mail_server_that_is_down_keeps_the_message_until_it_is_up(tmp_path, caplog):
    port = free_port()  # nothing listens here yet
    settings = mail_settings(tmp_path, port)
    queue = MailQueue(tmp_path / "state" / "mail-queue")
    with caplog.at_level(logging.WARNING, logger="p2e.notify"):
        assert send_results(processed_outcome(tmp_path), settings, queue) is True
    assert len(queue) == 1
    assert queue.waiting()[0].attempts == 1
    assert "could not reach the mail server 127.0.0.1" in caplog.text
    assert "will be tried again" in caplog.text

    controller, mailbox = start_smtp(port)
    try:
        assert queue.flush(settings) == (1, 0)
    finally:
        controller.stop()
    assert len(queue) == 0
    assert mailbox.messages[0]["Subject"] == "P2E clean-up: UIU p2e.xlsx processed - 40 done, 2 failed"
    assert mailbox.attachment()[0] == "UIU p2e - results 2026-11-28 1412.xlsx"


def test_queued_messages_go_out_oldest_first(tmp_path, smtp_server):
    settings = mail_settings(tmp_path, smtp_server.port)
    queue = MailQueue(tmp_path / "q")
    queue.put(compose(rejected_outcome(tmp_path), settings))
    queue.put(compose(processed_outcome(tmp_path), settings))
    assert queue.flush(settings) == (2, 0)
    assert ["not processed" in m["Subject"] for m in smtp_server.messages] == [True, False]


def test_no_smtp_host_or_no_recipient_means_no_email_and_no_queue(tmp_path, caplog):
    queue = MailQueue(tmp_path / "q")
    settings = mail_settings(tmp_path, 25, smtp_host=None)
    with caplog.at_level(logging.INFO, logger="p2e.notify"):
        assert send_results(processed_outcome(tmp_path), settings, queue) is False
        outcome = replace(processed_outcome(tmp_path), email_to=[])
        assert send_results(outcome, mail_settings(tmp_path, 25), queue) is False
    assert "SMTP_HOST is not set" in caplog.text
    assert "no 'Email results to' address and MAIL_TO is empty" in caplog.text
    assert len(queue) == 0


def test_a_refused_address_is_set_aside_not_retried_forever(tmp_path, caplog):
    class Refusing(Mailbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 No such user here"

    mailbox = Refusing()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        settings = mail_settings(tmp_path, mailbox.port)
        queue = MailQueue(tmp_path / "q")
        with caplog.at_level(logging.ERROR, logger="p2e.notify"):
            send_results(processed_outcome(tmp_path), settings, queue)
    finally:
        controller.stop()
    assert len(queue) == 0
    assert len(list((tmp_path / "q" / "failed").glob("*.eml"))) == 1
    assert "refused the address(es)" in caplog.text


def test_login_works_and_the_password_never_reaches_the_log(tmp_path):
    PASSWORD = "s3cret-smtp-password"
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
        logins.append((auth_data.login, ok))
        return AuthResult(success=ok, handled=False)

    controller, mailbox = start_smtp(authenticator=authenticator, auth_require_tls=False)
    try:
        settings = mail_settings(tmp_path, mailbox.port, smtp_user="p2e-bot", smtp_password=PASSWORD)
        log_file = setup_logging(settings, console=None)
        send_results(processed_outcome(tmp_path), settings, MailQueue(tmp_path / "q"))
        assert logins == [(b"p2e-bot", True)] and len(mailbox.messages) == 1

        wrong = replace(settings, smtp_password="not-" + PASSWORD)
        wrong_log = setup_logging(wrong, console=None)
        queue = MailQueue(tmp_path / "q2")
        send_results(processed_outcome(tmp_path), wrong, queue)
        assert len(queue) == 1  # kept for a retry once the password is fixed
        text = wrong_log.read_text(encoding="utf-8")
        assert "refused the login for SMTP_USER p2e-bot (check SMTP_USER and SMTP_PASSWORD)" in text
        assert PASSWORD not in text and PASSWORD not in log_file.read_text(encoding="utf-8")
    finally:
        controller.stop()
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "_p2e", False)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
