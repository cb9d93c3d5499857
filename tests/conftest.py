"""Shared fixtures: a real sandbox on loopback, settings pointing at it, real workbooks in tmp folders.

Every request the project's AlmaClient sends during the whole test session is recorded and,
at the end, checked against the published Alma contract (p2e/alma/contract.json).
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from p2e.alma import client as client_module
from p2e.config import load_settings

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
