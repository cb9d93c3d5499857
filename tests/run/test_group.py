"""group against the sandbox (issue 14): into a local collection with every field, the PO line moved, the bib kept;
each refusal path; preview; re-runs; crash-resume; CREATE_COLLECTIONS; restore."""
from __future__ import annotations

import copy
from pathlib import Path

import openpyxl
import pytest

from p2e.alma.client import AlmaClient
from p2e.backup import load_row_backup
from p2e.pipeline import process_file
from p2e.restore import restore
from p2e.run import group_outcomes as say
from p2e.sandbox import Sandbox, generate_library
from p2e.sandbox.server import _Dropped

from tests.conftest import results_rows

SUFFIX = "12205899"
LOCAL = {"id": f"619000{SUFFIX}", "name": "P2E e-books", "is_local": True, "service_id": f"629000{SUFFIX}"}
TWO = {"id": f"619001{SUFFIX}", "name": "P2E two services", "is_local": True,
       "services": [{"id": f"629101{SUFFIX}", "public_description": "Full text"},
                    {"id": f"629102{SUFFIX}", "public_description": "Selected full text"}]}
EMPTY = {"id": f"619002{SUFFIX}", "name": "P2E no service", "is_local": True}
RICH = {"public_note": "Access for UIU users", "authentication_note": "Log in with your NetID",
        "internal_description": "From the Voyager P2E load", "license": {"value": "LIC-EBOOKS"},
        "library": {"value": "MAIN"}, "access_type": {"value": "current"}, "activation_date": "2021-03-04Z",
        "coverage_details": {"coverage_in_use": {"value": "0"},
                             "local_date_coverage_parameters": [{"from_year": "2001", "until_year": "2020"}]},
        "linking_details": {"proxy_enabled": {"value": "true"}, "proxy": "EZPROXY"}}
HEADER = ["MMS ID", "Portfolio ID", "Action", "Collection", "Service", "Title"]


@pytest.fixture
def group_sandbox():
    """(sandbox, library, rich, with_pol): a generated library plus local collections; ``rich`` is a plain P2E
    row whose portfolio has every kind of field set, ``with_pol`` one whose P2E portfolio has an active PO line."""
    started = []

    def start(rows: int = 20, **options):
        library = generate_library(rows, random_seed=7)
        seed = copy.deepcopy(library.seed)
        seed["e_collections"] += [dict(LOCAL), copy.deepcopy(TWO), dict(EMPTY)]
        plain = [r for r in library.rows if r["scenario"] == "plain"]
        with_pol = next(r for r in library.rows if r["scenario"] == "relink_active_pol")
        rich = plain[0]
        for p in seed["portfolios"]:
            if p["id"] == rich["portfolio_id"]:
                p["_put"] = copy.deepcopy(RICH)
        sb = Sandbox.start(seed=seed, **options)
        started.append(sb)
        return sb, library, rich, with_pol, plain[1:]

    yield start
    for sb in started:
        sb.stop()


def group_book(path: Path, rows: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "P2E"
    ws.append(HEADER)
    for row in rows:
        ws.append(list(row) + [None] * (len(HEADER) - len(row)))
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            cell.number_format = "@"
    wb.save(path)
    return path


def alma(sb) -> AlmaClient:
    return AlmaClient(sb.url, sb.api_key, rate_limit=None)


def writes(sb, since: int = 0) -> list[dict]:
    return [r for r in sb.requests[since:] if r["method"] != "GET"]


def on_bib(state: dict, mms: str) -> list[dict]:
    return [p for p in state["portfolios"].values() if p["resource_metadata"]["mms_id"]["value"] == mms]


def in_service(state: dict, mms: str, service_id: str) -> list[dict]:
    return [p for p in on_bib(state, mms) if p["electronic_collection"]["service"]["value"] == service_id]


def test_group_moves_portfolios_into_a_local_collection_with_every_field_and_the_po_line_the_bib_kept(
        group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, _ = group_sandbox()
    before = {pid: alma(sb).get_portfolio(mms, pid) for mms, pid in
              ((rich["mms_id"], rich["portfolio_id"]), (with_pol["mms_id"], with_pol["portfolio_id"]))}
    book = group_book(tmp_path / "inbox" / "group.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books"),
        (with_pol["mms_id"], with_pol["portfolio_id"], "group", LOCAL["id"])])
    outcome = process_file(book, settings_for(sb), stream=None)
    rows = results_rows(outcome.results_path)
    assert [r["Result"] for r in rows] == ["Done", "Done"], [r["Details"] for r in rows]
    state = sb.state()
    client = alma(sb)
    for row, got in zip((rich, with_pol), rows):
        old_pid, mms = row["portfolio_id"], row["mms_id"]
        assert old_pid not in state["portfolios"] and mms in state["bibs"]  # the standalone one gone, the bib kept
        (made,) = in_service(state, mms, LOCAL["service_id"])
        assert got["Portfolio ID"] == made["id"] and got["Bib"] == "kept"
        assert got["Details"] == say.grouped(old_pid, made["id"], mms, "P2E e-books", LOCAL["id"],
                                             LOCAL["service_id"], got["Details"].split("Carried over: ")[1]
                                             .split(".")[0], row["po_line"], False)
        new = client.get_portfolio(mms, made["id"])
        assert new["is_standalone"] is False and new["electronic_collection"]["id"]["value"] == LOCAL["id"]
        old = before[old_pid]
        for key in ("public_note", "authentication_note", "internal_description", "license", "library",
                    "access_type", "activation_date", "coverage_details", "material_type", "availability"):
            assert _without_desc(new.get(key)) == _without_desc(old.get(key)), key
        for key in ("url", "static_url", "url_type", "proxy_enabled", "proxy"):
            assert _without_desc(new["linking_details"][key]) == _without_desc(old["linking_details"][key]), key
    pol_row = rows[1]
    assert client.get_portfolio(with_pol["mms_id"], pol_row["Portfolio ID"])["po_line"]["value"] == with_pol["po_line"]
    assert f"PO line {with_pol['po_line']} now hangs on {pol_row['Portfolio ID']}." in pol_row["Details"]
    assert "public note, internal description, authentication note" in rows[0]["Details"]
    assert "license" in rows[0]["Details"] and "coverage" in rows[0]["Details"]
    # every delete kept the bib
    assert {r["query"].get("bib") for r in sb.requests if r["method"] == "DELETE"} == {"retain"}


def _without_desc(value):
    if isinstance(value, dict):
        return {k: _without_desc(v) for k, v in value.items() if k not in ("desc", "link")}
    if isinstance(value, list):
        return [_without_desc(v) for v in value]
    return value


def test_preview_sends_no_write_and_says_what_it_would_do(group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, _ = group_sandbox()
    book = group_book(tmp_path / "inbox" / "group preview.xlsx", [
        (with_pol["mms_id"], with_pol["portfolio_id"], "group", "P2E e-books")])
    outcome = process_file(book, settings_for(sb), stream=None)
    (row,) = results_rows(outcome.results_path)
    assert row["Result"] == "Preview"
    assert row["Details"].startswith(f"Would make a new portfolio for bib {with_pol['mms_id']} in collection "
                                     f"'P2E e-books' ({LOCAL['id']}), service {LOCAL['service_id']}, carrying over ")
    assert row["Details"].endswith(f", move PO line {with_pol['po_line']} to it, and delete the standalone portfolio "
                                   f"{with_pol['portfolio_id']}, keeping the bib.")
    assert writes(sb) == []
    assert with_pol["portfolio_id"] in sb.state()["portfolios"]


def test_a_rerun_repeats_nothing_and_says_already_done(group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, _ = group_sandbox()
    settings = settings_for(sb)
    rows = [(rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books"),
            (with_pol["mms_id"], "", "group", "P2E e-books")]  # the second without its portfolio ID
    first = process_file(group_book(tmp_path / "inbox" / "a.xlsx", rows), settings, stream=None)
    made = [r["Portfolio ID"] for r in results_rows(first.results_path)]
    assert [r["Result"] for r in results_rows(first.results_path)] == ["Done", "Done"]
    since = len(sb.requests)
    again = process_file(group_book(tmp_path / "inbox" / "b.xlsx", rows + [("",)]), settings, stream=None)
    second = results_rows(again.results_path)
    assert [r["Result"] for r in second] == ["Already done", "Already done"]
    assert second[0]["Details"] == say.already_grouped(made[0], rich["mms_id"], "P2E e-books", LOCAL["id"],
                                                       LOCAL["service_id"]).details
    assert writes(sb, since) == []


def test_refusals_community_zone_collection_missing_service_and_a_field_alma_will_not_take(
        group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox(rows=30)
    cz = library.seed["e_collections"][0]
    bad_license = plain[0]
    sb.store.portfolios[bad_license["portfolio_id"]] = {**sb.store.portfolios[bad_license["portfolio_id"]],
                                                        "_put": {"license": {"value": "LIC-GONE"}}}
    rows = [
        (plain[1]["mms_id"], plain[1]["portfolio_id"], "group", cz["name"]),
        (plain[2]["mms_id"], plain[2]["portfolio_id"], "group", "P2E two services", "Nope"),
        (plain[3]["mms_id"], plain[3]["portfolio_id"], "group", "P2E two services"),
        (plain[4]["mms_id"], plain[4]["portfolio_id"], "group", "P2E no service"),
        (plain[5]["mms_id"], plain[5]["portfolio_id"], "group", "No such collection"),
        (plain[6]["mms_id"], plain[6]["portfolio_id"], "group", "6199999912205899"),
        (bad_license["mms_id"], bad_license["portfolio_id"], "group", "P2E e-books"),
        (plain[7]["mms_id"], plain[7]["portfolio_id"], "group", "P2E two services", "Selected full text"),
    ]
    outcome = process_file(group_book(tmp_path / "inbox" / "refusals.xlsx", rows), settings_for(sb), stream=None)
    got = results_rows(outcome.results_path)
    services = f"{TWO['services'][0]['id']} (Full text), {TWO['services'][1]['id']} (Selected full text)"
    assert [(r["Result"], r["Details"]) for r in got[:6]] == [
        ("Skipped", say.cz_collection(cz["name"], cz["id"]).details),
        ("Skipped", say.no_such_service("Nope", TWO["name"], TWO["id"], services).details),
        ("Skipped", say.several_services(TWO["name"], TWO["id"], services).details),
        ("Skipped", say.collection_without_service(EMPTY["name"], EMPTY["id"]).details),
        ("Skipped", say.no_collection_named("No such collection").details),
        ("Skipped", say.no_collection_with_id("6199999912205899").details),
    ]
    assert got[6]["Result"] == "Failed"
    assert got[6]["Details"].startswith(f"Alma would not take the license (LIC-GONE) of portfolio "
                                        f"{bad_license['portfolio_id']} for the new portfolio in collection "
                                        f"'P2E e-books' ({LOCAL['id']}), so none was made.")
    assert "60169" in got[6]["Alma error"]
    assert got[7]["Result"] == "Done" and TWO["services"][1]["id"] in got[7]["Details"]
    state = sb.state()
    for r in rows[:7]:
        assert r[1] in state["portfolios"], r  # nothing changed on a refused row
    posts = [w for w in writes(sb) if w["method"] == "POST"]
    assert len(posts) == 2  # the license row's refused POST and the last row's
    assert not any(cz["id"] in w["path"] for w in writes(sb))


def test_an_already_grouped_portfolio_and_one_in_another_collection(group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    settings = settings_for(sb)
    first = process_file(group_book(tmp_path / "inbox" / "a.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books")]), settings, stream=None)
    new_pid = results_rows(first.results_path)[0]["Portfolio ID"]
    # staff now name the new portfolio itself, and the CZ row's portfolio
    cz_row = next(r for r in library.rows if r["scenario"] == "plain" and r["target_portfolio_id"])
    second = process_file(group_book(tmp_path / "inbox" / "b.xlsx", [
        (rich["mms_id"], new_pid, "group", "P2E e-books"),
        (cz_row["target_mms_id"], cz_row["target_portfolio_id"], "group", "P2E e-books")]), settings, stream=None)
    got = results_rows(second.results_path)
    assert (got[0]["Result"], got[0]["Details"]) == ("Already done", say.already_grouped(
        new_pid, rich["mms_id"], "P2E e-books", LOCAL["id"], LOCAL["service_id"]).details)
    assert (got[1]["Result"], got[1]["Details"]) == ("Skipped", say.cz_portfolio_for_group(
        cz_row["target_portfolio_id"]).details)


def test_both_portfolios_there_without_this_run_having_made_one_is_skipped_plainly(group_sandbox, settings_for,
                                                                                  tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    made = alma(sb).create_service_portfolio(LOCAL["id"], LOCAL["service_id"], rich["mms_id"], {})
    outcome = process_file(group_book(tmp_path / "inbox" / "both.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books")]), settings_for(sb), stream=None)
    (row,) = results_rows(outcome.results_path)
    assert (row["Result"], row["Details"]) == ("Skipped", say.grouped_and_standalone_both_there(
        made["id"], rich["portfolio_id"], rich["mms_id"], "P2E e-books", LOCAL["id"]).details)


def test_a_create_whose_answer_was_lost_is_found_in_the_service_on_resume_not_made_twice(
        group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    settings = settings_for(sb, max_retries=1, workers=1)
    original = sb._create_service_portfolio
    lost = []

    def create_then_go_down(**kwargs):
        reply = original(**kwargs)  # made in Alma ...
        if not lost:
            lost.append(True)
            sb.set_options(outage_seconds=float("inf"), outage_mode="refuse")
            raise _Dropped()  # ... but the answer is lost, and Alma stops answering
        return reply

    sb._create_service_portfolio = create_then_go_down
    book = group_book(tmp_path / "inbox" / "lost.xlsx", [
        (with_pol["mms_id"], with_pol["portfolio_id"], "group", "P2E e-books")])
    first = process_file(book, settings, stream=None)
    assert first.status == "waiting" and lost
    sb.set_options(outage_seconds=0)
    second = process_file(book, settings, stream=None)
    (row,) = results_rows(second.results_path)
    assert row["Result"] == "Done", row["Details"]
    state = sb.state()
    assert len(in_service(state, with_pol["mms_id"], LOCAL["service_id"])) == 1
    assert with_pol["portfolio_id"] not in state["portfolios"]
    assert state["portfolios"][row["Portfolio ID"]]["po_line"]["value"] == with_pol["po_line"]
    # the backup (taken again on resume) still names the new portfolio, so restore can remove it
    assert load_row_backup(Path(row["Backup"]))["manifest"]["new_portfolio_id"] == row["Portfolio ID"]


def test_create_collections_makes_a_named_collection_once_per_run_and_the_summary_says_so(
        group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    rows = [(p["mms_id"], p["portfolio_id"], "group", "UIU P2E local") for p in plain[:3]]
    off = process_file(group_book(tmp_path / "inbox" / "off.xlsx", rows), settings_for(sb), stream=None)
    assert {(r["Result"], r["Details"]) for r in results_rows(off.results_path)} == {
        ("Skipped", say.no_collection_named("UIU P2E local").details)}
    assert writes(sb) == []

    on = process_file(group_book(tmp_path / "inbox" / "on.xlsx", rows), settings_for(sb, create_collections=True),
                      stream=None)
    got = results_rows(on.results_path)
    assert [r["Result"] for r in got] == ["Done"] * 3, [r["Details"] for r in got]
    created = [w for w in writes(sb) if w["method"] == "POST" and w["path"].endswith("/electronic/e-collections")]
    assert len(created) == 1
    (collection,) = [c for c in sb.state()["e_collections"].values() if c.get("public_name") == "UIU P2E local"]
    assert collection["is_local"] is True
    told = [r for r in got if r["Details"].startswith("Created collection 'UIU P2E local'")]
    assert len(told) == 1
    summary = {row[0].value: row[1].value for row in openpyxl.load_workbook(on.results_path)["Summary"].iter_rows()
               if row[0].value}
    assert summary["Collections created"] == (f"'UIU P2E local' ({collection['id']}), with one service "
                                              "(CREATE_COLLECTIONS=yes)")


def test_restore_brings_back_the_standalone_portfolio_with_its_po_line_and_deletes_the_new_one(
        group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    settings = settings_for(sb)
    outcome = process_file(group_book(tmp_path / "inbox" / "g.xlsx", [
        (with_pol["mms_id"], with_pol["portfolio_id"], "group", "P2E e-books")]), settings, stream=None)
    (row,) = results_rows(outcome.results_path)
    new_pid = row["Portfolio ID"]
    assert load_row_backup(Path(row["Backup"]))["manifest"]["new_portfolio_id"] == new_pid
    import io
    out = io.StringIO()
    assert restore(outcome.results_path, settings, stream=out) == 0, out.getvalue()
    state = sb.state()
    assert new_pid not in state["portfolios"]
    back = [p for p in on_bib(state, with_pol["mms_id"]) if p["is_standalone"] and p["is_local"]]
    assert len(back) == 1 and back[0]["po_line"]["value"] == with_pol["po_line"]
    assert not in_service(state, with_pol["mms_id"], LOCAL["service_id"])
    # restoring twice changes nothing more
    since = len(sb.requests)
    assert restore(outcome.results_path, settings, stream=io.StringIO()) == 0
    assert writes(sb, since) == []



def test_a_field_alma_drops_silently_is_named_and_the_standalone_portfolio_stays(group_sandbox, settings_for,
                                                                                tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    original = sb.store.create_service_portfolio

    def drop_the_public_note(cid, sid, body):  # Alma answers 200 but keeps no public note
        made = original(cid, sid, body)
        sb.store.portfolios[made["id"]]["_put"].pop("public_note", None)
        return made

    sb.store.create_service_portfolio = drop_the_public_note
    outcome = process_file(group_book(tmp_path / "inbox" / "dropped.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books")]), settings_for(sb), stream=None)
    (row,) = results_rows(outcome.results_path)
    (made,) = in_service(sb.state(), rich["mms_id"], LOCAL["service_id"])
    assert (row["Result"], row["Details"]) == ("Failed", say.fields_not_kept(
        made["id"], rich["portfolio_id"], "P2E e-books", LOCAL["id"], "public note", row["Backup"]).details)
    assert rich["portfolio_id"] in sb.state()["portfolios"]
    assert not [w for w in writes(sb) if w["method"] == "DELETE"]


def test_a_po_line_alma_does_not_attach_and_a_delete_alma_refuses_leave_the_standalone_portfolio(
        group_sandbox, settings_for, tmp_path):
    from p2e.sandbox.store import SandboxError

    sb, library, rich, with_pol, plain = group_sandbox()
    original_update = sb.store.update_portfolio

    def ignore_the_po_line(mms, pid, body):  # 200, but the PO line is not attached
        return original_update(mms, pid, {**body, "po_line": {"value": ""}})

    def refuse(*args, **kwargs):
        raise SandboxError("60175", "The portfolio could not be deleted.")

    sb.store.update_portfolio = ignore_the_po_line
    outcome = process_file(group_book(tmp_path / "inbox" / "pol.xlsx", [
        (with_pol["mms_id"], with_pol["portfolio_id"], "group", "P2E e-books")]), settings_for(sb), stream=None)
    (row,) = results_rows(outcome.results_path)
    (made,) = in_service(sb.state(), with_pol["mms_id"], LOCAL["service_id"])
    assert (row["Result"], row["Details"]) == ("Failed", say.group_po_line_ignored(
        with_pol["po_line"], made["id"], with_pol["portfolio_id"], "P2E e-books", LOCAL["id"]))
    assert with_pol["portfolio_id"] in sb.state()["portfolios"]

    sb.store.delete_portfolio = refuse
    outcome = process_file(group_book(tmp_path / "inbox" / "del.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books")]), settings_for(sb), stream=None)
    (row,) = results_rows(outcome.results_path)
    (made,) = in_service(sb.state(), rich["mms_id"], LOCAL["service_id"])
    assert (row["Result"], row["Details"]) == ("Failed", say.group_delete_refused(
        made["id"], rich["portfolio_id"], rich["mms_id"], None, row["Backup"]).details)
    assert "60175" in row["Alma error"]


def test_a_preview_with_create_collections_says_it_would_create_the_collection_once(group_sandbox, settings_for,
                                                                                    tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    book = group_book(tmp_path / "inbox" / "new collection preview.xlsx",
                      [(p["mms_id"], p["portfolio_id"], "group", "UIU P2E local") for p in plain[:2]])
    outcome = process_file(book, settings_for(sb, create_collections=True), stream=None)
    got = results_rows(outcome.results_path)
    assert [r["Result"] for r in got] == ["Preview", "Preview"]
    assert all(r["Details"].startswith("Would create collection 'UIU P2E local' with one service (CREATE_COLLECTIONS; "
                                       "once for the whole file), then make a new portfolio for bib ") for r in got)
    assert writes(sb) == []


def test_restore_of_a_group_row_alma_refused_changes_nothing_and_says_so(group_sandbox, settings_for, tmp_path):
    import io

    sb, library, rich, with_pol, plain = group_sandbox()
    bad = plain[0]
    sb.store.portfolios[bad["portfolio_id"]] = {**sb.store.portfolios[bad["portfolio_id"]],
                                               "_put": {"license": {"value": "LIC-GONE"}}}
    settings = settings_for(sb)
    outcome = process_file(group_book(tmp_path / "inbox" / "refused.xlsx", [
        (bad["mms_id"], bad["portfolio_id"], "group", "P2E e-books")]), settings, stream=None)
    assert results_rows(outcome.results_path)[0]["Result"] == "Failed"
    since = len(sb.requests)
    out = io.StringIO()
    assert restore(outcome.results_path, settings, stream=out) == 0
    assert writes(sb, since) == []
    book = openpyxl.load_workbook(next(settings.outbox_dir.glob("*restore*.xlsx")))["Restore"]
    assert [c.value for c in book[2]][6:8] == [
        "Nothing to restore", f"Standalone portfolio {bad['portfolio_id']} is still on bib {bad['mms_id']}, and "
                              "nothing was made in a collection."]


def test_a_delete_whose_answer_was_lost_finishes_the_row_as_done_on_resume(group_sandbox, settings_for, tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    settings = settings_for(sb, max_retries=1, workers=1)
    original = sb._delete_portfolio
    lost = []

    def delete_then_go_down(**kwargs):
        reply = original(**kwargs)  # the standalone portfolio is deleted in Alma ...
        if not lost:
            lost.append(True)
            sb.set_options(outage_seconds=float("inf"), outage_mode="refuse")
            raise _Dropped()  # ... but the answer is lost, and Alma stops answering
        return reply

    sb._delete_portfolio = delete_then_go_down
    book = group_book(tmp_path / "inbox" / "lost delete.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", "P2E e-books")])
    first = process_file(book, settings, stream=None)
    assert first.status == "waiting" and lost
    sb.set_options(outage_seconds=0)
    since = len(sb.requests)
    second = process_file(book, settings, stream=None)
    (row,) = results_rows(second.results_path)
    (made,) = in_service(sb.state(), rich["mms_id"], LOCAL["service_id"])
    assert (row["Result"], row["Portfolio ID"]) == ("Done", made["id"]), row["Details"]
    assert row["Details"].startswith(f"Moved portfolio {rich['portfolio_id']} into collection 'P2E e-books'")
    assert writes(sb, since) == []  # nothing sent again


def test_a_server_that_does_not_say_a_collection_is_cz_still_skips_the_row_on_alma_refusal(group_sandbox, settings_for,
                                                                                          tmp_path):
    sb, library, rich, with_pol, plain = group_sandbox()
    cz = library.seed["e_collections"][0]
    render = sb.store.render_collection

    def without_is_local(rec):  # a collection record with no is_local at all
        out = render(rec)
        out.pop("is_local", None)
        return out

    sb.store.render_collection = without_is_local
    outcome = process_file(group_book(tmp_path / "inbox" / "cz by refusal.xlsx", [
        (rich["mms_id"], rich["portfolio_id"], "group", cz["id"])]), settings_for(sb), stream=None)
    (row,) = results_rows(outcome.results_path)
    assert row["Result"] == "Skipped"
    assert row["Details"] == say.cz_collection_refused(cz["name"], cz["id"], None).details
    assert "60162" in row["Alma error"]
    assert rich["portfolio_id"] in sb.state()["portfolios"]


def test_a_collection_alma_refuses_to_create_is_asked_for_once_and_every_row_naming_it_says_so(
        group_sandbox, settings_for, tmp_path):
    from p2e.sandbox.store import SandboxError

    sb, library, rich, with_pol, plain = group_sandbox()

    def refuse(body):
        raise SandboxError("402469", "The library code is not valid.")

    sb.store.create_collection = refuse
    rows = [(p["mms_id"], p["portfolio_id"], "group", "UIU P2E local") for p in plain[:3]]
    outcome = process_file(group_book(tmp_path / "inbox" / "refused collection.xlsx", rows),
                           settings_for(sb, create_collections=True), stream=None)
    got = results_rows(outcome.results_path)
    assert {(r["Result"], r["Details"]) for r in got} == {
        ("Failed", say.create_collection_refused("UIU P2E local", None).details)}
    assert all("402469" in r["Alma error"] for r in got)
    assert len([w for w in writes(sb) if w["path"].endswith("/electronic/e-collections")]) == 1
    assert all(p["portfolio_id"] in sb.state()["portfolios"] for p in plain[:3])


def test_group_rows_count_what_they_may_cost_against_the_daily_reserve(group_sandbox, settings_for, tmp_path):
    # A group row may take up to 9 calls (with a PO line): a row may start only when that much is left above
    # the reserve. Budgeted like a delete (4 calls), a row started with too little room overshot it.
    for room in range(14, 20):
        sb, library, rich, with_pol, plain = group_sandbox(rows=30, daily_limit=10_000)
        rows = [(r["mms_id"], r["portfolio_id"], "group", LOCAL["id"]) for r in plain[:12]]
        book = group_book(tmp_path / "inbox" / f"reserve room {room}.xlsx", rows)
        outcome = process_file(book, settings_for(sb, daily_reserve=10_000 - room, workers=1), stream=None)
        assert outcome.status == "paused"
        assert sb.daily_remaining >= 10_000 - room, \
            f"room {room}: the reserve was overshot by {10_000 - room - sb.daily_remaining} calls"
        sb.stop()
