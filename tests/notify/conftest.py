"""Helpers for the email tests: settings that send through a loopback server, and outcomes to tell."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import openpyxl

from p2e.config import load_settings
from p2e.model import Outcome, Problem
from p2e.pipeline import FileOutcome


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
