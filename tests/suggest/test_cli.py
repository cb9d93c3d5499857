"""processor.py suggest FILE [--collection ID|NAME], and validate on a raw report (p2e/cli.py)."""
from __future__ import annotations

import os
from pathlib import Path

import openpyxl

from p2e.cli import main
from p2e.sandbox import Sandbox
from tests.conftest import clean_environment, write_config

from .library import COLLECTION, SUFFIX, build, raw_report


def test_suggest_command_with_a_collection_by_name(tmp_path, capsys, monkeypatch):
    for key in set(os.environ) - set(clean_environment()):  # the config file decides
        monkeypatch.delenv(key, raising=False)
    seed, rows = build()
    with Sandbox.start(seed=seed) as sb:
        config = write_config(tmp_path, sb, MMS_ID_SUFFIX=SUFFIX)
        path = raw_report(tmp_path / "p2e.xlsx", rows, collections="")
        code = main(["suggest", str(path), "--collection", COLLECTION, "--config", str(config)])
        assert [r for r in sb.requests if r["method"] != "GET"] == []
    out = capsys.readouterr().out
    assert code == 0
    assert "2 delete, 1 relink (strong matches), 2 keep, 5 to check" in out
    [suggested] = sorted(Path(tmp_path / "outbox").glob("p2e - SUGGESTED *.xlsx"))
    assert f"Results: {suggested}" in out
    assert path.exists()  # the staff's file stays where it was


def test_validate_says_a_raw_report_is_a_request_for_suggestions(tmp_path, capsys, monkeypatch):
    for key in set(os.environ) - set(clean_environment()):  # the config file decides
        monkeypatch.delenv(key, raising=False)
    seed, rows = build()
    with Sandbox.start(seed=seed) as sb:
        config = write_config(tmp_path, sb)
        path = raw_report(tmp_path / "p2e.xlsx", rows)
        assert main(["validate", str(path), "--config", str(config)]) == 0
        assert sb.requests == []
    assert "request for suggestions" in capsys.readouterr().out
