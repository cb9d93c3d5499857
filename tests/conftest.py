"""Shared fixtures: a real sandbox on loopback, settings pointing at it, real workbooks in tmp folders.

Every request the project's AlmaClient sends during the whole test session is recorded and,
at the end, checked against the published Alma contract (p2e/alma/contract.json).
"""
from __future__ import annotations

import io
import os
import socket
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller

from p2e.alma import client as client_module
from p2e.config import KNOWN_KEYS, load_settings
from p2e.journal import Journal

_SENT: list[dict] = []
_SENT_LOCK = threading.Lock()
_original_request = client_module.AlmaClient.request


def _recording_request(self, method, path, **kwargs):
    if not (method.upper() != "GET" and self.read_only):  # a refused preview write never leaves the process
        with _SENT_LOCK:
            _SENT.append({"method": method.upper(), "path": "/almaws/v1" + path.split("?")[0],
                          "query": dict(kwargs.get("params") or {})})
    return _original_request(self, method, path, **kwargs)


client_module.AlmaClient.request = _recording_request


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any request the client sent is not in Alma's published contract."""
    if not _SENT:
        return
    from p2e.alma.contract import violations

    problems = violations(_SENT)
    if problems:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "Requests outside Alma's published contract:\n  " + "\n  ".join(sorted(set(problems))[:20]), red=True)
        session.exitstatus = 1


@pytest.fixture
def sent_requests():
    """The requests the client sent during this test (method, path, query)."""
    with _SENT_LOCK:
        start = len(_SENT)
    yield lambda: list(_SENT[start:])


@pytest.fixture
def start_sandbox():
    """``sb, library = start_sandbox(rows=20, mix="realistic", **sandbox_options)``; stopped after the test."""
    from p2e.sandbox import Sandbox, generate_library

    started = []

    def start(rows: int = 20, mix: str = "realistic", random_seed: int = 7, **options):
        library = generate_library(rows, random_seed=random_seed, mix=mix)
        sb = Sandbox.start(seed=library.seed, **options)
        started.append(sb)
        return sb, library

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def settings_for(tmp_path):
    """Settings with every folder under tmp_path, pointing at a sandbox."""

    def make(sb, **overrides):
        base = load_settings(None, environ={}, base_dir=tmp_path)
        values = dict(alma_api_key=sb.api_key, base_url=sb.url, rate_limit=None, workers=4, max_retries=6,
                      http_timeout=5.0)
        values.update(overrides)
        settings = replace(base, **values)
        for folder in (settings.inbox_dir, settings.outbox_dir, settings.state_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return settings

    return make


@pytest.fixture
def workbook_for(tmp_path):
    """Write a generated library's annotated P2E workbook into tmp_path/inbox and return its path."""
    from p2e.sandbox import write_workbook

    def make(library, name: str = "UIU P2E clean-up.xlsx") -> Path:
        folder = tmp_path / "inbox"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        write_workbook(library, path)
        return path

    return make


# -- mail and the drop folder: shared by tests/watch/, tests/notify/ and the outage tests ----------
# (plain helpers are imported with ``from tests.conftest import ...``; smtp_server is a fixture)

STAFF = "cataloguing@library.example.edu"
SYSTEMS = "systems@library.example.edu"


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


def wait_until(condition, timeout: float = 15.0, every: float = 0.02):
    """Poll ``condition`` until it is true (returns its value) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {condition}")


def mail_settings(settings_for, sb, port: int, **overrides):
    """Settings for the sandbox ``sb`` that email through the loopback SMTP server on ``port``."""
    values = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", mail_from="p2e@library.example.edu",
                  mail_to=[SYSTEMS], poll_seconds=0.2)
    values.update(overrides)
    return settings_for(sb, **values)


def with_email_setting(path: Path, address: str = STAFF) -> Path:
    """Add the template's Settings sheet ("Email results to") to a generated workbook."""
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Settings")
    ws.append(["Email results to", address])
    wb.save(path)
    return path


def results_rows(path: Path, sheet: str = "Results") -> list[dict]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb[sheet].iter_rows(values_only=True))
    wb.close()
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def staff_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def outbox(settings, kind: str) -> list[Path]:
    return sorted(Path(settings.outbox_dir).glob(f"* - {kind} *.xlsx"))


def write_config(tmp_path: Path, sb, **extra: str) -> Path:
    """A config.env for ``processor.py`` with every folder under tmp_path, pointing at the sandbox ``sb``."""
    values = {"ALMA_BASE_URL": sb.url, "ALMA_API_KEY": sb.api_key, "INBOX_DIR": str(tmp_path / "inbox"),
              "OUTBOX_DIR": str(tmp_path / "outbox"), "STATE_DIR": str(tmp_path / "state"), "POLL_SECONDS": "0.2",
              "SMTP_HOST": "", **extra}
    config = tmp_path / "config.env"
    config.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    for folder in ("inbox", "outbox", "state"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return config


def clean_environment() -> dict:
    """This process's environment without any processor setting (the config file must decide)."""
    return {k: v for k, v in os.environ.items() if k not in KNOWN_KEYS and not k.startswith(("ALMA_", "SMTP_", "MAIL_"))}


def make_due(settings) -> None:
    """Pretend the back-off has passed: the waiting run is due now."""
    journal = Journal(Path(settings.state_dir) / "journal.sqlite3")
    try:
        for run in journal.unfinished_runs():
            journal.set_status(run.run_id, run.status, (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat())
    finally:
        journal.close()



def read_rows(tmp_path: Path, header: list, rows: list):
    """A one-sheet workbook ("P2E": ``header`` then ``rows``) read as the pipeline reads it (cells kept compressed)."""
    from p2e.intake import read_workbook

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(header)
    for row in rows:
        ws.append(row)
    path = tmp_path / "p2e.xlsx"
    wb.save(path)
    return read_workbook(path, compact=True)
