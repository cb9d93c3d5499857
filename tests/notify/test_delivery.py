"""The one mail path (p2e/notify/delivery.py): queue, send at once, nothing without a server or an address;
`processor.py run` emails through it too."""
from __future__ import annotations

import logging
import threading
from dataclasses import replace

from p2e.cli import main
from p2e.config import load_settings
from p2e.notify import MailQueue, send_results
from tests.conftest import outbox, with_email_setting, write_config
from tests.notify.conftest import mail_settings, processed_outcome


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


def test_processor_run_also_emails_when_smtp_is_set(start_sandbox, tmp_path, smtp_server, capsys):
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=5, mix="delete-only")
    config = write_config(tmp_path, sb, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port), SMTP_SECURITY="none",
                          MAIL_FROM="p2e@library.example.edu")
    path = with_email_setting(write_workbook(library, tmp_path / "by hand.xlsx"))
    try:
        assert main(["run", str(path), "--config", str(config)]) == 0
    finally:
        import logging

        for handler in [h for h in logging.getLogger().handlers if getattr(h, "_p2e", False)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
    assert "Processed by hand.xlsx: 5 rows - 5 done." in capsys.readouterr().out
    [message] = smtp_server.messages
    assert message["Subject"] == "P2E clean-up: by hand.xlsx processed - 5 done"
    assert smtp_server.attachment()[0] == outbox(load_settings(config), "results")[0].name
    assert path.exists()  # `run` never moves the file it was given


class FakeClock:
    """Stands in for the ``time`` module in p2e.notify.delivery: a monotonic clock moved by hand."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_after_a_failed_send_the_next_try_waits_longer_each_time_and_a_message_sent_resets_the_wait(
        tmp_path, monkeypatch):
    from p2e.notify import Delivery, delivery

    clock = FakeClock()
    monkeypatch.setattr(delivery, "time", clock)
    server = {"up": False, "tries": 0}

    def send(message, settings):
        server["tries"] += 1
        if not server["up"]:
            raise ConnectionRefusedError("nothing listens there")

    stopped = threading.Event()
    queue = MailQueue(tmp_path / "q")
    mail = Delivery(mail_settings(tmp_path, 25), queue=queue, retry_seconds=60, send=send, stopped=stopped)
    assert mail.tell(processed_outcome(tmp_path)) is True
    assert server["tries"] == 1 and len(queue) == 1          # tried at once, kept

    clock.now += 59
    mail.deliver()
    assert server["tries"] == 1                              # still within the first wait (60 s)
    clock.now += 1
    mail.deliver()
    assert server["tries"] == 2                              # the next wait is twice as long
    clock.now += 119
    mail.deliver()
    assert server["tries"] == 2
    mail.deliver(force=True)                                 # watch --once sends regardless
    assert server["tries"] == 3 and len(queue) == 1

    server["up"] = True
    clock.now += 240
    mail.deliver()
    assert server["tries"] == 4 and len(queue) == 0          # sent: the wait starts again from 60 s
    server["up"] = False
    assert mail.tell(processed_outcome(tmp_path)) is True
    clock.now += 60
    mail.deliver()
    assert server["tries"] == 6

    stopped.set()                                            # the lock is lost: the queue is another watcher's
    clock.now += 3600
    mail.deliver(force=True)
    assert server["tries"] == 6 and len(queue) == 1
