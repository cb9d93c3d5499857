"""delete, relink, keep against the sandbox (issue 5): every rule and every failure path."""
from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from p2e.alma.client import AlmaClient
from p2e.alma.errors import WriteNotAllowed
from p2e.pipeline import process_file
from p2e.restore import restore

from tests.conftest import results_rows

HEADER = ["BIB_ID", "MMS ID", "Portfolio ID", "Action", "Bib handling", "Target MMS ID", "Target Portfolio ID", "PO Line"]


def small_workbook(path: Path, rows: list[dict]) -> Path:
    """A workbook with the staff columns only; IDs typed as text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(HEADER)
    for r in rows:
        ws.append([r.get("voyager_bib_id", ""), r.get("mms_id", ""), r.get("portfolio_id", ""), r.get("action", ""),
                   r.get("bib_handling", ""), r.get("target_mms_id", ""), r.get("target_portfolio_id", ""),
                   r.get("po_line", "")])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = "@"
    wb.save(path)
    return path


def by_scenario(library, name: str) -> list[dict]:
    return [r for r in library.rows if r["scenario"] == name]


def test_every_scenario_does_what_the_guide_says_and_the_read_back_agrees(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=60)
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    rows = results_rows(outcome.results_path)
    state = sb.state()
    assert len(rows) == len(library.rows)
    for expected, got in zip(library.rows, rows):
        assert got["Result"] == expected["expected_outcome"], (expected["scenario"], got["Details"])
        bib = state["bibs"].get(expected["mms_id"])
        fate = expected["expected_bib"]
        if fate.startswith("deleted") or fate == "unlinked from NZ and deleted":
            assert bib is None and got["Bib"] == "deleted", got["Details"]
        elif fate == "suppressed":
            assert bib["suppress_from_publishing"] == "true" and got["Bib"] == "suppressed"
        elif fate.startswith("kept: other inventory"):
            assert bib is not None and got["Bib"] == "kept"
            assert "because other inventory remains" in got["Details"]
    scenarios = {r["scenario"] for r in library.rows}
    assert {"plain", "relink_active_pol", "nz_linked", "staff_mistake_cz", "active_pol_delete",
            "other_inventory_holding", "closed_pol_delete", "suppress", "keep"} <= scenarios


def test_a_cz_linked_portfolio_in_a_delete_row_is_skipped_and_untouched(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40)
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    rows = results_rows(outcome.results_path)
    for expected in by_scenario(library, "staff_mistake_cz"):
        got = next(r for r in rows if r["Portfolio ID"] == expected["portfolio_id"])
        assert got["Result"] == "Skipped"
        assert got["Details"] == (f"Not a P2E portfolio: portfolio {expected['portfolio_id']} is linked to the Community "
                                  "Zone. This is the kind of portfolio to keep. Nothing was changed.")
        assert expected["portfolio_id"] in sb.state()["portfolios"]
    assert not [r for r in sb.requests if r["method"] == "DELETE" and
                any(e["portfolio_id"] in r["path"] for e in by_scenario(library, "staff_mistake_cz"))]


def test_an_active_po_line_is_skipped_by_default_and_deleted_when_the_policy_says_so(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40)
    active = by_scenario(library, "active_pol_delete")
    assert active
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    rows = {r["Portfolio ID"]: r for r in results_rows(outcome.results_path)}
    for expected in active:
        assert rows[expected["portfolio_id"]]["Result"] == "Skipped"
        assert "is linked to active PO line" in rows[expected["portfolio_id"]]["Details"]
        assert "mark this row relink" in rows[expected["portfolio_id"]]["Details"]

    sb2, library2 = start_sandbox(rows=40)
    settings = settings_for(sb2, active_pol_policy="delete", state_dir=settings_for(sb2).state_dir / "second")
    outcome = process_file(workbook_for(library2, "again.xlsx"), settings, stream=None)
    rows = {r["Portfolio ID"]: r for r in results_rows(outcome.results_path)}
    for expected in by_scenario(library2, "active_pol_delete"):
        got = rows[expected["portfolio_id"]]
        assert got["Result"] == "Done"
        assert "was kept because a PO line is still open on it" in got["Details"], got["Details"]
        assert expected["mms_id"] in sb2.state()["bibs"]


def test_alma_ignoring_the_po_line_change_is_caught_and_nothing_is_deleted(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40, pol_relink="ignored")
    relinks = by_scenario(library, "relink_active_pol")
    assert relinks
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    rows = {r["Portfolio ID"]: r for r in results_rows(outcome.results_path)}
    state = sb.state()
    for expected in relinks:
        got = rows[expected["portfolio_id"]]
        assert got["Result"] == "Failed"
        assert got["Details"].startswith(f"Alma answered that PO line {expected['po_line']} was changed, but reading "
                                         f"it back shows it still points to {expected['mms_id']}")
        assert "Use Change Bib Reference" in got["Details"]
        assert expected["portfolio_id"] in state["portfolios"]  # the P2E portfolio was not deleted
        assert state["po_lines"][expected["po_line"]]["resource_metadata"]["mms_id"]["value"] == expected["mms_id"]
        target = state["portfolios"][expected["target_portfolio_id"]]
        assert (target.get("po_line") or {}).get("value", "") != expected["po_line"]
    assert outcome.exit_code == 1


def test_relink_moves_the_po_line_attaches_it_and_deletes_the_p2e_records(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40)
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    rows = {r["Portfolio ID"]: r for r in results_rows(outcome.results_path)}
    state = sb.state()
    for expected in by_scenario(library, "relink_active_pol"):
        got = rows[expected["portfolio_id"]]
        assert got["Result"] == "Done", got["Details"]
        assert state["po_lines"][expected["po_line"]]["resource_metadata"]["mms_id"]["value"] == expected["target_mms_id"]
        assert state["portfolios"][expected["target_portfolio_id"]]["po_line"]["value"] == expected["po_line"]
        assert expected["portfolio_id"] not in state["portfolios"]
        assert expected["mms_id"] not in state["bibs"]


def test_a_nz_linked_bib_that_alma_keeps_is_reported_with_the_way_out(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40, nz_bib_delete="retain")
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    rows = {r["Portfolio ID"]: r for r in results_rows(outcome.results_path)}
    nz = by_scenario(library, "nz_linked")
    assert nz
    for expected in nz:
        got = rows[expected["portfolio_id"]]
        assert got["Result"] == "Done" and got["Bib"] == "kept"
        assert "because it is linked to the Network Zone" in got["Details"]
        assert "Delete Bibliographic Records job" in got["Details"]


def test_preview_never_sends_a_write(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40)
    before = sb.state()
    outcome = process_file(workbook_for(library), settings_for(sb), preview=True, stream=None)
    assert sb.requests, "the preview did read Alma"
    assert {r["method"] for r in sb.requests} == {"GET"}
    assert sb.state() == before
    rows = results_rows(outcome.results_path)
    assert outcome.results_path.name.startswith("UIU P2E clean-up - PREVIEW ")
    plain = by_scenario(library, "plain")[0]
    got = next(r for r in rows if r["Portfolio ID"] == plain["portfolio_id"])
    assert got["Result"] == "Preview"
    assert got["Details"] == (f"Would delete portfolio {plain['portfolio_id']} and delete its bib {plain['mms_id']}: "
                              "no other inventory.")
    relink = by_scenario(library, "relink_active_pol")[0]
    got = next(r for r in rows if r["Portfolio ID"] == relink["portfolio_id"])
    assert got["Details"].startswith(f"Would move PO line {relink['po_line']} to the record you keep")


def test_the_word_preview_in_the_file_name_means_preview(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=10)
    outcome = process_file(workbook_for(library, "UIU P2E preview.xlsx"), settings_for(sb), stream=None)
    assert outcome.mode.value == "preview"
    assert {r["method"] for r in sb.requests} == {"GET"}


def test_a_preview_client_refuses_writes_before_they_leave_the_process(start_sandbox):
    sb, _ = start_sandbox(rows=3)
    client = AlmaClient(sb.url, sb.api_key, rate_limit=None, read_only=True)
    with pytest.raises(WriteNotAllowed):
        client.delete_portfolio("99", "53", bib="delete")
    assert sb.requests == []


def test_processing_the_same_workbook_again_says_already_done(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=30)
    settings = settings_for(sb)
    workbook = workbook_for(library)
    first = {r["Portfolio ID"]: r["Result"] for r in results_rows(process_file(workbook, settings, stream=None).results_path)}
    second_outcome = process_file(workbook, settings, stream=None)
    second = {r["Portfolio ID"]: r for r in results_rows(second_outcome.results_path)}
    for pid, result in first.items():
        if result == "Done":
            assert second[pid]["Result"] == "Already done", second[pid]["Details"]
        else:
            assert second[pid]["Result"] == result
    assert "Failed" not in {r["Result"] for r in second.values()}
    assert not [r for r in sb.requests[-200:] if r["method"] == "DELETE" and r["status"] != 204]


def test_backups_hold_every_record_before_it_changed_and_the_audit_log_every_call(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=20)
    seed_bibs = {b["mms_id"] for b in library.seed["bibs"]}
    outcome = process_file(workbook_for(library), settings_for(sb), stream=None)
    rows = results_rows(outcome.results_path)
    done = [r for r in rows if r["Result"] == "Done"]
    assert done
    for r in done:
        folder = Path(r["Backup"])
        saved = json.loads((folder / "backup.json").read_text())
        manifest = saved["manifest"]
        assert manifest["portfolio_id"] == r["Portfolio ID"] and manifest["mms_id"] == r["MMS ID"]
        portfolio = saved["portfolio"][r["Portfolio ID"]]
        assert portfolio["id"] == r["Portfolio ID"] and portfolio["is_standalone"] is True
        bib = saved["bib"][r["MMS ID"]]
        assert bib["mms_id"] == r["MMS ID"] and r["MMS ID"] in seed_bibs
        marc = (folder / f"bib--{r['MMS ID']}.xml").read_text()
        assert marc.startswith("<record") and f'<controlfield tag="001">{r["MMS ID"]}</controlfield>' in marc
    lines = [json.loads(line) for line in outcome.audit_path.read_text().splitlines()]
    assert len(lines) == len(sb.requests)
    deletes = [l for l in lines if l["method"] == "DELETE"]
    assert len(deletes) == len(done) and all(l["row"] and l["status"] == 204 for l in deletes)
    assert all("apikey" not in l["query"] for l in lines)


def test_a_row_with_only_a_voyager_bib_id_is_resolved_by_rule_or_by_lookup(start_sandbox, settings_for, tmp_path):
    sb, library = start_sandbox(rows=12, mix="delete-only")
    a, b = library.rows[0], library.rows[1]
    by_rule = small_workbook(tmp_path / "inbox" / "rule.xlsx", [{"voyager_bib_id": a["voyager_bib_id"], "action": "delete",
                                                                  "target_mms_id": a["target_mms_id"]}])
    outcome = process_file(by_rule, settings_for(sb, mms_id_suffix="12205899"), stream=None)
    row = results_rows(outcome.results_path)[0]
    assert row["Result"] == "Done" and row["MMS ID"] == a["mms_id"] and row["Portfolio ID"] == a["portfolio_id"]

    by_lookup = small_workbook(tmp_path / "inbox" / "lookup.xlsx", [{"voyager_bib_id": b["voyager_bib_id"], "action": "delete"}])
    outcome = process_file(by_lookup, settings_for(sb, other_system_id_pattern="(UIUdb){bib_id}"), stream=None)
    row = results_rows(outcome.results_path)[0]
    assert row["Result"] == "Done" and row["MMS ID"] == b["mms_id"]
    assert any(r["query"].get("other_system_id") == f"(UIUdb){b['voyager_bib_id']}" for r in sb.requests)

    unknown = small_workbook(tmp_path / "inbox" / "unknown.xlsx", [{"voyager_bib_id": "1", "action": "delete"}])
    outcome = process_file(unknown, settings_for(sb, other_system_id_pattern="(UIUdb){bib_id}"), stream=None)
    row = results_rows(outcome.results_path)[0]
    assert row["Result"] == "Skipped"
    assert row["Details"].startswith("No bib in Alma carries the old catalogue number (UIUdb)1")


def test_a_kept_record_without_an_active_portfolio_stops_the_delete(start_sandbox, settings_for, tmp_path):
    sb, library = start_sandbox(rows=6, mix="delete-only")
    a, b = library.rows[0], library.rows[1]
    # The "record to keep" is another P2E bib: it has no Community Zone portfolio.
    path = small_workbook(tmp_path / "inbox" / "t.xlsx", [{"mms_id": a["mms_id"], "portfolio_id": a["portfolio_id"],
                                                            "action": "delete", "target_mms_id": b["mms_id"]}])
    row = results_rows(process_file(path, settings_for(sb), stream=None).results_path)[0]
    assert row["Result"] == "Skipped"
    assert row["Details"] == (f"The record you keep ({b['mms_id']}) has no active Community Zone portfolio, so this row "
                              "was skipped to avoid leaving the title without access. Nothing was changed.")
    assert a["portfolio_id"] in sb.state()["portfolios"]


def test_a_row_without_a_portfolio_id_uses_the_bibs_single_p2e_portfolio(start_sandbox, settings_for, tmp_path):
    sb, library = start_sandbox(rows=4, mix="delete-only")
    a = library.rows[0]
    path = small_workbook(tmp_path / "inbox" / "p.xlsx", [{"mms_id": a["mms_id"], "action": "delete"}])
    row = results_rows(process_file(path, settings_for(sb), stream=None).results_path)[0]
    assert row["Result"] == "Done" and row["Portfolio ID"] == a["portfolio_id"]


def test_restore_brings_back_what_a_run_deleted(start_sandbox, settings_for, workbook_for):
    sb, library = start_sandbox(rows=40)
    settings = settings_for(sb)
    before = sb.state()
    outcome = process_file(workbook_for(library), settings, stream=None)
    rows = results_rows(outcome.results_path)
    done = [r for r in rows if r["Result"] == "Done"]
    assert restore(outcome.results_path, settings, stream=io.StringIO()) == 0
    after = sb.state()
    restored = results_rows_restore(next(settings.outbox_dir.glob("* - restore *.xlsx")))
    assert len(restored) == len(done)
    titles_before = {b["title"] for b in before["bibs"].values()}
    relinked = {e["portfolio_id"] for e in by_scenario(library, "relink_active_pol")}
    assert relinked
    for r in restored:
        assert r["Result"] == ("Partly restored" if r["Old portfolio ID"] in relinked else "Restored"), r["Details"]
        assert r["New portfolio ID"] in after["portfolios"]
        assert r["New MMS ID"] in after["bibs"]
        assert after["bibs"][r["New MMS ID"]]["title"] in titles_before
        assert after["portfolios"][r["New portfolio ID"]]["is_standalone"] is True
    for expected in by_scenario(library, "relink_active_pol"):
        # Alma does not move a PO line away from a Community Zone record: it stays where the run put it,
        # and the restore says so instead of pretending.
        new = next(r for r in restored if r["Old portfolio ID"] == expected["portfolio_id"])
        assert f"PO line {expected['po_line']} stays on the record you kept ({expected['target_mms_id']})" in new["Details"]
        assert after["po_lines"][expected["po_line"]]["resource_metadata"]["mms_id"]["value"] == expected["target_mms_id"]
        assert after["portfolios"][expected["target_portfolio_id"]]["po_line"]["value"] == expected["po_line"]
        assert (after["portfolios"][new["New portfolio ID"]].get("po_line") or {}).get("value", "") == ""
    lists = list(settings.outbox_dir.glob("* - deleted MMS IDs*.txt"))
    assert len(lists) == 1
    listed = lists[0].read_text().split()
    assert sorted(listed) == sorted(r["MMS ID"] for r in done if r["Bib"] == "deleted")
    # Running the restore again creates nothing twice.
    count = len(after["bibs"])
    assert restore(outcome.results_path, settings, stream=io.StringIO()) == 0
    assert len(sb.state()["bibs"]) == count
    again = results_rows_restore(max(settings.outbox_dir.glob("* - restore *.xlsx"), key=lambda p: p.stat().st_mtime_ns))
    for r in again:  # the PO line that Alma will not move back is still reported, every time
        assert r["Result"] == ("Partly restored" if r["Old portfolio ID"] in relinked else "Already restored")


def results_rows_restore(path: Path) -> list[dict]:
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = [r for r in wb["Restore"].iter_rows(values_only=True)]
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:] if r[0] is not None and isinstance(r[0], int)]


def _filled_template(tmp_path: Path, library, mode: str, name: str) -> Path:
    from p2e.template import write_template

    path = write_template(tmp_path / "blank.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Actions"]
    for i, r in enumerate(library.rows[:5], start=2):
        for col, key in enumerate(("voyager_bib_id", "mms_id", "portfolio_id", "title", "action", "bib_handling",
                                   "target_mms_id", "target_portfolio_id", "po_line"), start=1):
            ws.cell(i, col, r[key] or None)
    wb["Settings"]["B2"] = mode
    target = tmp_path / "inbox" / name
    target.parent.mkdir(exist_ok=True)
    wb.save(target)
    return target


def test_the_templates_mode_setting_chooses_preview_or_apply(start_sandbox, settings_for, tmp_path):
    sb, library = start_sandbox(rows=5, mix="delete-only")
    preview = process_file(_filled_template(tmp_path, library, "Preview", "a.xlsx"), settings_for(sb), stream=None)
    assert preview.mode.value == "preview" and {r["method"] for r in sb.requests} == {"GET"}
    assert {r["Result"] for r in results_rows(preview.results_path)} == {"Preview"}
    applied = process_file(_filled_template(tmp_path, library, "Apply", "b.xlsx"), settings_for(sb), stream=None)
    assert applied.mode.value == "apply"
    assert {r["Result"] for r in results_rows(applied.results_path)} == {"Done"}


def test_restore_refuses_a_file_that_is_not_a_results_workbook(start_sandbox, tmp_path, capsys):
    from p2e.cli import main

    sb, _ = start_sandbox(rows=3)
    config = tmp_path / "config.env"
    config.write_text(f"ALMA_BASE_URL={sb.url}\nALMA_API_KEY={sb.api_key}\nOUTBOX_DIR={tmp_path / 'out'}\n")
    wrong = tmp_path / "staff file.xlsx"
    small_workbook(wrong, [{"mms_id": "99123", "action": "delete"}])
    assert main(["restore", str(wrong), "--config", str(config)]) == 2
    assert ("Cannot restore from staff file.xlsx: staff file.xlsx has no Summary sheet: is it a results workbook "
            "from this processor?") in capsys.readouterr().err
    assert sb.requests == []


# -- issue 10, point 12: deleted before, by someone else or by this processor ---------------------

def test_a_portfolio_deleted_outside_the_processor_is_already_done_or_names_the_one_left(start_sandbox, settings_for,
                                                                                          tmp_path):
    sb, library = start_sandbox(rows=4, mix="delete-only")
    a, b = library.rows[0], library.rows[1]
    sb.store.delete_portfolio(a["mms_id"], a["portfolio_id"], "retain")  # by hand in Alma: the bib stays
    sb.store.delete_portfolio(b["mms_id"], b["portfolio_id"], "retain")
    other = sb.store.create_portfolio(b["mms_id"], {"is_standalone": True})  # ... and b's bib has another one
    other_id = str(other.get("id"))
    path = small_workbook(tmp_path / "inbox" / "gone.xlsx", [
        {"mms_id": a["mms_id"], "portfolio_id": a["portfolio_id"], "action": "delete"},
        {"mms_id": b["mms_id"], "portfolio_id": b["portfolio_id"], "action": "delete"}])
    first, second = results_rows(process_file(path, settings_for(sb), stream=None).results_path)
    assert first["Result"] == "Already done", first
    assert first["Details"].startswith(f"Portfolio {a['portfolio_id']} is no longer in Alma: it was deleted earlier")
    assert second["Result"] == "Skipped", second
    assert other_id in second["Details"] and "Check both IDs" in second["Details"]
    assert other_id in sb.state()["portfolios"]
    assert not [r for r in sb.requests if r["method"] == "DELETE"]


@pytest.mark.parametrize("how", ["rule", "lookup"])
def test_a_row_with_only_a_voyager_bib_id_deleted_by_an_earlier_run_is_already_done(how, start_sandbox, settings_for,
                                                                                     tmp_path):
    sb, library = start_sandbox(rows=4, mix="delete-only")
    a = library.rows[0]
    options = {"mms_id_suffix": "12205899"} if how == "rule" else {"other_system_id_pattern": "(UIUdb){bib_id}"}
    settings = settings_for(sb, **options)
    path = small_workbook(tmp_path / "inbox" / "voyager.xlsx", [{"voyager_bib_id": a["voyager_bib_id"],
                                                                  "action": "delete", "bib_handling": "delete"}])
    row = results_rows(process_file(path, settings, stream=None).results_path)[0]
    assert row["Result"] == "Done" and row["Bib"] == "deleted", row
    assert a["mms_id"] not in sb.state()["bibs"]

    again = results_rows(process_file(path, settings, stream=None).results_path)[0]
    assert again["Result"] == "Already done", again
    assert again["Details"].startswith(f"Portfolio {a['portfolio_id']}") and "earlier run" in again["Details"]
    assert again["MMS ID"] == a["mms_id"] and again["Portfolio ID"] == a["portfolio_id"]
