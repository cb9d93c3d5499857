"""The mail queue (p2e/notify/queue.py): nothing lost while the server is down, oldest first, refusals set aside."""
from __future__ import annotations

import logging

from aiosmtpd.controller import Controller

from p2e.notify import MailQueue, compose, send_results
from tests.conftest import Mailbox, free_port, start_smtp
from tests.notify.conftest import mail_settings, processed_outcome, rejected_outcome


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
