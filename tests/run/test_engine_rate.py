"""A whole run with ALMA_RATE_LIMIT=auto against a sandbox that allows 10 calls a second (issue 13).

Real HTTP to the sandbox, a real workbook in, a real results workbook out. The assertions are
about what happened (every row ended as expected, the rate the run settled at is reported),
never about how long it took.
"""
from __future__ import annotations

import logging
from collections import Counter

import openpyxl

from p2e.alma.client import AlmaClient
from p2e.pipeline import process_file

from tests.conftest import results_rows


def summary_facts(path) -> dict:
    wb = openpyxl.load_workbook(path, read_only=True)
    facts = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row and row[0]}
    wb.close()
    return facts


def test_an_auto_run_under_a_10_per_second_alma_completes_with_every_row_as_expected(
        start_sandbox, settings_for, workbook_for, caplog):
    sb, library = start_sandbox(rows=24, rate_limit=10)
    settings = settings_for(sb, rate_limit="auto", rate_max=50, workers=4, max_retries=8)
    client = AlmaClient.from_settings(settings, pool_size=8)
    with caplog.at_level(logging.INFO, logger="p2e"):
        outcome = process_file(workbook_for(library), settings, stream=None, client=client)
    client.close()

    rows = results_rows(outcome.results_path)
    assert len(rows) == len(library.rows)
    for expected, got in zip(library.rows, rows):
        assert got["Result"] == expected["expected_outcome"], (expected["scenario"], got["Details"])
    assert outcome.exit_code == 0
    limiter = client.limiter
    assert limiter.highest <= 50 and limiter.rate <= 50
    refused = Counter(r["error_code"] for r in sb.requests)["PER_SECOND_THRESHOLD"]
    assert client.stats.throttled == refused
    if refused:  # Alma said "too many": the rate came down at least once, and says where
        assert limiter.slowdowns >= 1 and "slowed down" in limiter.describe()
    rate = summary_facts(outcome.results_path)["Alma call rate"]
    assert rate.startswith("found automatically: settled at ") and rate == limiter.describe()
    assert any("Alma call rate found automatically: settled at" in r.getMessage() for r in caplog.records)


def test_the_summary_names_a_fixed_rate(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=4)
    settings = settings_for(sb, rate_limit=40)
    outcome = process_file(workbook_for(library), settings, stream=None)
    assert summary_facts(outcome.results_path)["Alma call rate"] == "40 calls per second (ALMA_RATE_LIMIT)"
