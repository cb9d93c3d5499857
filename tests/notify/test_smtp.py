"""Talking to the mail server (p2e/notify/smtp.py): login, and the password never in the log."""
from __future__ import annotations

import logging
from dataclasses import replace

from aiosmtpd.smtp import AuthResult, LoginPassword

from p2e.logs import setup_logging
from p2e.notify import MailQueue, send_results
from tests.conftest import start_smtp
from tests.notify.conftest import mail_settings, processed_outcome


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
