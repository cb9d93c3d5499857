"""The end-to-end path (issue 2): a workbook in, a results workbook out, Alma changed as reported."""
from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from p2e.cli import main
from p2e.demo import run_demo
from p2e.pipeline import process_file
from tests.conftest import results_rows


def test_a_dropped_workbook_comes_back_as_results_and_alma_changes_as_reported(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=30)
    settings = settings_for(sb)
    workbook = workbook_for(library)

    outcome = process_file(workbook, settings, stream=None)

    assert outcome.status == "processed"
    assert outcome.results_path.parent == settings.outbox_dir
    assert outcome.results_path.name.startswith("UIU P2E clean-up - results ")
    rows = results_rows(outcome.results_path)
    assert len(rows) == len(library.rows)
    state = sb.state()
    for expected, got in zip(library.rows, rows):
        assert got["Result"] == expected["expected_outcome"], (expected["scenario"], got["Details"])
        assert got["MMS ID"] == expected["mms_id"]  # IDs come back as text, digit for digit
        assert got["BIB_ID"] == expected["voyager_bib_id"]  # the staff's own columns are kept
        if got["Result"] == "Done":
            assert expected["portfolio_id"] not in state["portfolios"]
        else:
            assert expected["portfolio_id"] in state["portfolios"]
    assert outcome.exit_code == 0


def test_the_demo_prints_a_summary_and_leaves_results_in_the_outbox(tmp_path, capsys):
    config = tmp_path / "config.env"
    config.write_text(f"OUTBOX_DIR={tmp_path / 'outbox'}\n")
    code = main(["demo", "--config", str(config)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Processed UIU P2E clean-up demo" in out
    assert "10 done, 1 kept, 2 skipped" in out
    assert "9 of the 9 portfolios reported Done are gone from it." in out
    assert "1 of the 1 grouped portfolios are now in collection 'UIU Local P2E titles'" in out  # the group row
    results = list((tmp_path / "outbox").glob("*- results *.xlsx"))
    assert len(results) == 1
    assert "Next steps in Alma" in openpyxl.load_workbook(results[0], read_only=True).sheetnames
    rows = results_rows(results[0])
    assert {r["Result"] for r in rows} == {"Done", "Kept", "Skipped"}
    assert all(r["MMS ID"] and r["MMS ID"].startswith("99") for r in rows)


def test_a_configuration_error_names_the_setting_and_the_file(tmp_path, capsys):
    config = tmp_path / "config.env"
    config.write_text("ALMA_API_KEY=l8xx-secret\nALMA_REGION=mars\n")
    workbook = tmp_path / "any.xlsx"
    workbook.write_bytes(b"")
    code = main(["run", str(workbook), "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"ALMA_REGION in {config} (or the environment) must be one of na, eu, ap, aps, ca, cn; it is 'mars'." in err
    assert "l8xx-secret" not in err


def test_a_missing_api_key_stops_before_anything_runs(tmp_path, capsys, start_sandbox, workbook_for):
    sb, library = start_sandbox(rows=5)
    config = tmp_path / "config.env"
    config.write_text(f"ALMA_BASE_URL={sb.url}\nOUTBOX_DIR={tmp_path / 'out'}\n")
    code = main(["run", str(workbook_for(library)), "--config", str(config)])
    assert code == 2
    assert "ALMA_API_KEY is not set in" in capsys.readouterr().err
    assert sb.requests == []


def test_a_workbook_without_an_action_column_is_rejected_and_nothing_is_sent(start_sandbox, settings_for, tmp_path):
    sb, _ = start_sandbox(rows=5)
    settings = settings_for(sb)
    path = tmp_path / "inbox" / "no action.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["Title", "Author", "Note"])  # no Action and no record column (with one, it asks for suggestions)
    ws.append(["A title", "Smith, Anne", "99553996612205899"])
    wb.save(path)

    outcome = process_file(path, settings, stream=None)

    assert outcome.status == "rejected"
    assert outcome.exit_code == 2
    assert sb.requests == []
    assert outcome.results_path.name.startswith("no action - REJECTED ")
    problems = [row for row in openpyxl.load_workbook(outcome.results_path)["Problems"].iter_rows(min_row=6, values_only=True)]
    assert problems and "Action" in problems[0][4]
    assert path.exists()  # the staff's file is never deleted


def test_the_api_key_never_reaches_output_logs_or_workbooks(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=12)
    settings = settings_for(sb)
    stream = io.StringIO()
    outcome = process_file(workbook_for(library), settings, stream=stream)
    assert sb.api_key not in stream.getvalue() + outcome.summary() + repr(settings)
    for path in settings.outbox_dir.rglob("*"):
        if path.is_file():
            assert sb.api_key.encode() not in path.read_bytes(), path
    for path in settings.state_dir.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".xml", ".jsonl"):
            assert sb.api_key.encode() not in path.read_bytes(), path


def test_exit_code_is_one_when_a_row_failed(start_sandbox, settings_for, workbook_for):
    from p2e.sandbox import SandboxError

    sb, library = start_sandbox(rows=6, mix="delete-only")

    def refuse(**_):  # Alma refuses every delete with a business error
        raise SandboxError("60124", "Portfolio cannot be deleted.")

    sb._delete_portfolio = refuse
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    assert outcome.exit_code == 1
    rows = results_rows(outcome.results_path)
    assert {r["Result"] for r in rows} == {"Failed"}
    assert all(r["Alma error"].startswith("60124: Portfolio cannot be deleted.") for r in rows)
    assert len(sb.state()["portfolios"]) == len(library.seed["portfolios"])


def test_a_key_that_may_only_read_makes_the_file_wait_not_fail_every_row(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=6, mix="delete-only")
    # A key that may read but not write: Alma refuses the first delete with UNAUTHORIZED.
    settings = settings_for(sb, alma_api_key=sb.readonly_key)
    outcome = process_file(workbook_for(library), settings, stream=None)
    assert outcome.status == "waiting" and outcome.exit_code == 1
    assert outcome.reason.startswith("Alma refused the API key: API-key not defined or not configured")
    assert not any(r.outcome.value == "Failed" for r in outcome.results)
    assert len(sb.state()["portfolios"]) == len(library.seed["portfolios"])


@pytest.mark.parametrize("verb", ["demo", "run", "validate", "template", "sandbox", "watch", "restore"])
def test_every_verb_takes_a_config_option(verb, capsys):
    with pytest.raises(SystemExit) as exc:
        main([verb, "--help"])
    assert exc.value.code == 0
    assert "--config" in capsys.readouterr().out


def test_validate_prints_every_problem_with_its_place_and_calls_no_alma(tmp_path, capsys):
    path = tmp_path / "checked.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(["MMS ID", "Portfolio ID", "Action"])
    ws.append(["99553996612205899", "53100000112205899", "remove"])
    ws.append(["99553996612205898", "53100000112205898", "delete"])
    wb.save(path)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert out.startswith("checked.xlsx: 1 problem(s) to fix before this file can run:")
    assert "sheet 'P2E', row 2, column C (Action)" in out and "remove" in out


def test_validate_says_what_a_good_file_holds(start_sandbox, workbook_for, capsys):
    _, library = start_sandbox(rows=12)
    assert main(["validate", str(workbook_for(library))]) == 0
    out = capsys.readouterr().out
    assert "no problems found in sheet 'P2E': 12 rows" in out and "Nothing was sent to Alma." in out


def test_template_writes_the_staff_template(tmp_path, capsys):
    target = tmp_path / "t.xlsx"
    assert main(["template", "--output", str(target)]) == 0
    assert openpyxl.load_workbook(target).sheetnames == ["Instructions", "Actions", "Settings"]
