"""The SRU route against the sandbox: the same rules, the print decoy seen, SRU off or failing said plainly."""
from __future__ import annotations

from dataclasses import replace

import openpyxl
import pytest

from p2e.pipeline import process_file
from p2e.sandbox import Sandbox

from .library import EXPECTED, SUFFIX, build, raw_report

SRU_EXPECTED = dict(EXPECTED, print_same_title=(None, "weak"))  # SRU finds the print record: it is not kept


@pytest.fixture
def labelled(settings_for):
    seed, rows = build()
    sb = Sandbox.start(seed=seed)
    settings = replace(settings_for(sb), mms_id_suffix=SUFFIX, institution_code=sb.institution_code,
                       sru_base_url=sb.sru_url)
    yield sb, rows, settings
    sb.stop()


def rows_of(path):
    values = list(openpyxl.load_workbook(path)["P2E"].iter_rows(values_only=True))
    return [dict(zip(values[0], v)) for v in values[1:]]


def test_sru_route_alone_finds_every_twin_and_decoy_and_writes_nothing(labelled):
    sb, rows, settings = labelled
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows, collections=""), settings, stream=None)
    out = rows_of(outcome.results_path)
    for row, got in zip(rows, out):
        assert (got["Action"], got["Match"]) == SRU_EXPECTED[row["label"]], (row["label"], got["Why"])
        if got["Action"] in ("delete", "relink"):
            assert (got["Target MMS ID"], got["Target Portfolio ID"]) == (row["target_mms_id"], row["target_portfolio_id"])
    why = {row["label"]: got["Why"] for row, got in zip(rows, out)}
    assert "print record" in why["print_same_title"]
    assert "Alma's SRU search" in why["no_twin"]
    assert [r for r in sb.requests if r["method"] != "GET"] == []
    assert any("/view/sru/" in r["path"] for r in sb.requests)
    # each chosen twin's portfolio was confirmed with one REST read
    confirmed = {r["path"].rsplit("/", 1)[-1] for r in sb.requests if "/portfolios/" in r["path"]}
    assert {row["target_portfolio_id"] for row in rows if row["target_portfolio_id"] and
            SRU_EXPECTED[row["label"]][0] in ("delete", "relink")} <= confirmed


def test_sru_switched_off_says_so_and_the_collection_route_stands(labelled):
    sb, rows, settings = labelled
    sb.set_options(sru_enabled=False)
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows), settings, stream=None)
    assert "Alma's SRU search failed" in outcome.summary() and "SRU_BASE_URL" in outcome.summary()
    out = rows_of(outcome.results_path)
    for row, got in zip(rows, out):
        assert (got["Action"], got["Match"]) == EXPECTED[row["label"]], (row["label"], got["Why"])
    summary = [r for r in openpyxl.load_workbook(outcome.results_path)["Summary"].iter_rows(values_only=True)]
    assert any(r[0] == "To know" and "SRU search failed" in (r[1] or "") for r in summary)


def test_sru_not_configured_says_so(labelled):
    sb, rows, settings = labelled
    settings = replace(settings, institution_code=None, sru_base_url=None)
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows), settings, stream=None)
    assert "SRU search was not used: ALMA_INSTITUTION_CODE" in outcome.summary()


def test_sru_without_published_availability_still_decides_from_rest(labelled):
    sb, rows, settings = labelled
    sb.set_options(sru_publish_availability=False)  # no AVE in SRU records: REST says what the portfolios are
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows, collections=""), settings, stream=None)
    for row, got in zip(rows, rows_of(outcome.results_path)):
        assert (got["Action"], got["Match"]) == SRU_EXPECTED[row["label"]], (row["label"], got["Why"])
