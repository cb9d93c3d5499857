"""Handing one message to the mail server, and saying in plain words why it would not take it.

Settings used: SMTP_HOST, SMTP_PORT, SMTP_SECURITY (starttls, ssl, none), SMTP_USER and
SMTP_PASSWORD (login when a user is set). The password never appears in what is logged.

>>> is_permanent(smtplib.SMTPDataError(554, b"message refused")), is_permanent(smtplib.SMTPDataError(451, b"later"))
(True, False)
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from ..config import Settings

SMTP_TIMEOUT = 20.0


@contextmanager
def smtp_session(settings: Settings, timeout: float = SMTP_TIMEOUT) -> Iterator[tuple[smtplib.SMTP, str]]:
    """A session with the server in the settings, greeted (EHLO), secured and logged in as configured.

    Yields the session and the server's greeting line; raises smtplib/OSError errors.
    """
    host, port = settings.smtp_host or "", settings.smtp_port
    server: smtplib.SMTP
    if settings.smtp_security == "ssl":
        server = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
    with server:
        code, banner = server.ehlo()
        if code >= 400:
            raise smtplib.SMTPHeloError(code, banner)
        if settings.smtp_security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            server.login(settings.smtp_user, settings.smtp_password or "")
        yield server, (banner.decode(errors="replace").splitlines()[0] if banner else "")


def smtp_send(message: EmailMessage, settings: Settings, timeout: float = SMTP_TIMEOUT) -> None:
    """Hand one message to the SMTP server in the settings; raises smtplib/OSError errors."""
    with smtp_session(settings, timeout) as (server, _):
        server.send_message(message)


def smtp_hello(settings: Settings, timeout: float = SMTP_TIMEOUT) -> str:
    """Connect, greet, secure and log in as configured, then quit: no message is sent. Returns the greeting."""
    with smtp_session(settings, timeout) as (_, greeting):
        return greeting


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
