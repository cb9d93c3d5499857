"""The suggestion step against the sandbox: every rule and decoy kind, read-only, the annotated workbook,
and the annotated file going back through the normal pipeline."""
from __future__ import annotations

import json
from dataclasses import replace

import openpyxl
import pytest

from p2e.pipeline import process_file, suggest_file
from p2e.sandbox import Sandbox

from .library import COLLECTION, COLLECTION_ID, EXPECTED, SUFFIX, build, raw_report


@pytest.fixture
def labelled(settings_for, tmp_path):
    seed, rows = build()
    sb = Sandbox.start(seed=seed)
    settings = replace(settings_for(sb), mms_id_suffix=SUFFIX)
    yield sb, rows, settings
    sb.stop()


def annotated_rows(path):
    ws = openpyxl.load_workbook(path)["P2E"]
    values = list(ws.iter_rows(values_only=True))
    header = list(values[0])
    return header, [dict(zip(header, v)) for v in values[1:]]


def test_every_rule_and_decoy_from_a_raw_report_and_no_write(labelled, tmp_path):
    sb, rows, settings = labelled
    path = raw_report(settings.inbox_dir / "UIU P2E.xlsx", rows)

    outcome = process_file(path, settings, stream=None)

    assert outcome.status == "processed" and outcome.mode.value == "suggest" and outcome.exit_code == 0
    assert outcome.results_path.name.startswith("UIU P2E - SUGGESTED ")
    assert outcome.results_path.parent == settings.outbox_dir
    assert [r["method"] for r in sb.requests if r["method"] != "GET"] == []
    assert sb.state()["deleted"] == {"bibs": [], "portfolios": []}
    audit = [json.loads(line) for line in outcome.audit_path.read_text().splitlines()]
    assert audit and {a["method"] for a in audit} == {"GET"} and sb.api_key not in outcome.audit_path.read_text()
    header, out = annotated_rows(outcome.results_path)
    assert header[:6] == ["BIB_ID", "Title", "ISBN/ISSN", "OCLC Number", "856 URL", "MMS ID"]  # every original column
    assert header[6:] == ["Portfolio ID", "Action", "Bib handling", "Target MMS ID", "Target Portfolio ID", "PO Line",
                          "Match", "Why"]
    for row, got in zip(rows, out):
        action, match = EXPECTED[row["label"]]
        assert (got["Action"], got["Match"]) == (action, match), (row["label"], got["Why"])
        assert got["BIB_ID"] == row["bib_id"] and got["Title"] == row["title"]
        assert got["Why"]
        if action in ("delete", "relink"):
            assert (got["MMS ID"], got["Portfolio ID"]) == (row["mms_id"], row["portfolio_id"])
            assert (got["Target MMS ID"], got["Target Portfolio ID"]) == (row["target_mms_id"], row["target_portfolio_id"])
            assert got["Bib handling"] == "delete"
            assert got["PO Line"] == (row["po_line"] or None)
        else:
            assert got["Target MMS ID"] is None and got["PO Line"] is None
    why = {row["label"]: got["Why"] for row, got in zip(rows, out)}
    assert "only the title matches" in why["title_only"]
    assert "another edition" in why["other_edition"]
    assert "Not Available" in why["not_available"]
    assert "2 CZ records qualify" in why["two_twins"]
    assert "not a P2E portfolio" in why["staff_gave_cz"]
    assert "OCLC number" in why["oclc_only"] and "ISBN" in why["isbn"]
    assert f"'{COLLECTION}' ({COLLECTION_ID})" in why["isbn"]
    assert "open order POL-9001" in why["open_order"]
    assert "only the collections named were searched" in why["no_twin"]  # SRU off: a twin elsewhere is not seen


def test_the_summary_counts_suggestions_by_action_and_strength(labelled):
    sb, rows, settings = labelled
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows), settings, stream=None)
    ws = openpyxl.load_workbook(outcome.results_path)["Summary"]
    table = {r[0]: r[1:4] for r in ws.iter_rows(values_only=True) if r[0] in ("delete", "relink", "keep", "nothing (you decide)")}
    assert table == {"delete": (2, 0, 0), "relink": (1, 0, 0), "keep": (0, 0, 2), "nothing (you decide)": (0, 5, 0)}
    assert "2 delete, 1 relink" in outcome.summary() and "Nothing was changed in Alma" in outcome.summary()


def test_the_annotated_file_set_to_preview_goes_through_the_normal_pipeline(labelled):
    sb, rows, settings = labelled
    suggested = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows), settings, stream=None).results_path
    wb = openpyxl.load_workbook(suggested)
    wb["Settings"]["B2"] = "Preview"
    back = settings.inbox_dir / "p2e reviewed.xlsx"
    wb.save(back)
    sb.reset_requests()

    outcome = process_file(back, settings, stream=None)

    assert outcome.status == "processed" and outcome.mode.value == "preview", outcome.summary()
    assert outcome.results_path.name.startswith("p2e reviewed - PREVIEW ")
    assert [r["method"] for r in sb.requests if r["method"] != "GET"] == []
    by_bib = {r.row.voyager_bib_id: r for r in outcome.results}
    for row in rows:
        action, _ = EXPECTED[row["label"]]
        result = by_bib[row["bib_id"]]
        if action in ("delete", "relink"):
            assert result.outcome.value == "Preview", (row["label"], result.details)
        else:
            assert result.outcome.value == "Kept", (row["label"], result.details)


def test_a_collection_named_on_the_command_line_and_one_not_found(labelled):
    sb, rows, settings = labelled
    path = raw_report(settings.inbox_dir / "p2e.xlsx", rows, collections="")
    outcome = suggest_file(path, settings, collections=[COLLECTION_ID, "No such collection"])
    header, out = annotated_rows(outcome.results_path)
    assert [g["Action"] for g in out].count("delete") == 2
    assert "No e-collection in Alma is called 'No such collection'" in outcome.summary()


def test_nothing_named_and_no_sru_says_so_plainly(labelled):
    sb, rows, settings = labelled
    path = raw_report(settings.inbox_dir / "p2e.xlsx", rows, collections="")
    outcome = process_file(path, settings, stream=None)
    header, out = annotated_rows(outcome.results_path)
    assert {g["Action"] for g in out} == {None}
    assert all("Not searched" in g["Why"] for g in out if g["BIB_ID"] != rows[8]["bib_id"])


def test_staff_actions_are_left_as_they_are_with_mode_suggest(labelled):
    sb, rows, settings = labelled
    path = raw_report(settings.inbox_dir / "p2e.xlsx", rows, mode="Suggest")
    wb = openpyxl.load_workbook(path)
    ws = wb["P2E"]
    ws["G2"] = "Action"
    ws["G3"] = "keep"  # the first row (an ISBN twin) kept by staff
    wb.save(path)
    outcome = process_file(path, settings, stream=None)
    assert outcome.mode.value == "suggest"
    header, out = annotated_rows(outcome.results_path)
    assert out[0]["Action"] == "keep" and out[0]["Target MMS ID"] is None and "left as it is" in out[0]["Why"]
    assert out[1]["Action"] == "delete"


def test_the_reader_refuses_writes_before_they_leave_the_process(labelled):
    from p2e.alma.client import AlmaClient
    from p2e.alma.errors import WriteNotAllowed
    from p2e.suggest.reader import AlmaReader

    sb, rows, settings = labelled
    client = AlmaClient.from_settings(settings)
    reader = AlmaReader(client)
    client.read_only = False  # even if someone turns the flag off, the reader turns it back on before each call
    assert reader.bibs([rows[0]["mms_id"]])
    with pytest.raises(WriteNotAllowed):
        reader.client.delete_portfolio(rows[0]["mms_id"], rows[0]["portfolio_id"], "delete")
    assert [r for r in sb.requests if r["method"] != "GET"] == []
    client.close()


def test_the_daily_reserve_stops_the_look_ups_and_every_row_says_so(labelled):
    sb, rows, settings = labelled
    sb.set_options(daily_limit=6)
    settings = replace(settings, daily_reserve=3)
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows), settings, stream=None)
    header, out = annotated_rows(outcome.results_path)
    assert {g["Action"] for g in out} == {None}
    assert all(g["Why"].startswith("Not looked up: Alma's daily API allowance is down to") for g in out)
    assert len(sb.requests) <= 4


def test_an_outage_loses_nothing_and_says_so(labelled):
    sb, rows, settings = labelled
    sb.set_options(outage_seconds=float("inf"), outage_after_calls=2)
    settings = replace(settings, max_retries=1)
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows), settings, stream=None)
    header, out = annotated_rows(outcome.results_path)
    assert {g["Action"] for g in out} == {None}
    assert all("Not looked up: Alma stopped answering" in g["Why"] for g in out)
    assert "nothing was changed in Alma" in outcome.summary()


def test_a_client_handed_in_lends_its_limiter_and_is_left_writable(labelled):
    from p2e.alma.client import AlmaClient

    sb, rows, settings = labelled
    client = AlmaClient.from_settings(settings)
    outcome = process_file(raw_report(settings.inbox_dir / "p2e.xlsx", rows), settings, stream=None, client=client)
    assert outcome.mode.value == "suggest" and client.read_only is False
    assert [r for r in sb.requests if r["method"] != "GET"] == []
    client.close()
