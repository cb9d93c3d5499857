"""generate_library / seeds / write_workbook: realistic shapes, and rows that agree with the sandbox."""
from __future__ import annotations

import json
import re

import openpyxl
import pytest
import requests

from p2e.alma.contract import assert_conforms
from p2e.sandbox import Sandbox, generate_library, load_seed, save_seed, write_workbook
from p2e.sandbox.seed import REALISTIC_MIX

ROW_KEYS = {"voyager_bib_id", "title", "url", "isbn", "location", "mms_id", "portfolio_id", "action", "bib_handling",
            "target_mms_id", "target_portfolio_id", "po_line", "expected_outcome", "expected_bib", "scenario"}


@pytest.fixture(scope="module")
def lib():
    return generate_library(40, random_seed=5)


def test_rows_have_the_promised_keys_and_every_scenario(lib):
    assert len(lib.rows) == 40
    for row in lib.rows:
        assert ROW_KEYS <= set(row)
        assert row["expected_outcome"] in ("Done", "Kept", "Skipped")
    assert set(lib.counts()) == set(REALISTIC_MIX)


def test_ids_have_alma_shapes(lib):
    for row in lib.rows:
        bib = row["voyager_bib_id"]
        assert bib.isdigit() and len(bib) <= 8
        p2e_mms = f"99{bib}12205899"
        if row["scenario"] != "staff_mistake_cz":
            assert row["mms_id"] == p2e_mms
        assert re.fullmatch(r"99\d+12205899", row["mms_id"])
        assert re.fullmatch(r"53\d+12205899", row["portfolio_id"])
        if row["target_mms_id"]:
            assert row["target_mms_id"].startswith("99") and row["target_portfolio_id"].startswith("53")
    seed = lib.seed
    for b in seed["bibs"]:
        assert b["mms_id"].startswith("99") and b["mms_id"].endswith("12205899")
    for c in seed["e_collections"]:
        assert c["id"].startswith("61") and c["service_id"].startswith("62")


def test_generation_is_deterministic_and_mix_switch(lib):
    again = generate_library(40, random_seed=5)
    assert again.rows == lib.rows and again.seed == lib.seed
    assert generate_library(40, random_seed=6).rows != lib.rows
    only = generate_library(25, random_seed=5, mix="delete-only")
    assert {r["scenario"] for r in only.rows} == {"plain"}
    assert all(r["action"] == "delete" and r["expected_outcome"] == "Done" for r in only.rows)
    other = generate_library(3, suffix="8805867", other_id_prefix="(NBYdb)")
    assert all(r["mms_id"].endswith("8805867") for r in other.rows if r["scenario"] != "staff_mistake_cz")
    with pytest.raises(ValueError):
        generate_library(3, mix="everything")


def test_seed_round_trips_through_json(lib, tmp_path):
    path = save_seed(lib.seed, tmp_path / "seed.json")
    assert load_seed(path) == json.loads(json.dumps(lib.seed))
    (tmp_path / "bad.json").write_text('{"format": "other/9"}')
    with pytest.raises(ValueError):
        load_seed(tmp_path / "bad.json")


def test_p2e_records_look_like_migrated_voyager_records(lib):
    with Sandbox.start(seed=lib.seed) as sb:
        s = requests.Session()
        s.headers.update({"Authorization": f"apikey {sb.api_key}", "Accept": "application/json"})
        api = sb.url + "/almaws/v1"
        plain = next(r for r in lib.rows if r["scenario"] == "plain")
        bib = s.get(f"{api}/bibs/{plain['mms_id']}").json()
        other_id = "(UIUdb)" + plain["voyager_bib_id"]
        assert other_id in bib["network_number"]
        assert f'tag="035"><subfield code="a">{other_id}</subfield>' in bib["anies"][0]
        found = s.get(f"{api}/bibs", params={"other_system_id": other_id}).json()
        assert [b["mms_id"] for b in found["bib"]] == [plain["mms_id"]]
        port = s.get(f"{api}/bibs/{plain['mms_id']}/portfolios/{plain['portfolio_id']}").json()
        assert (port["is_local"], port["is_standalone"]) == (True, True)
        cz_bib = s.get(f"{api}/bibs/{plain['target_mms_id']}").json()
        assert cz_bib["linked_record_id"]["type"] == "CZ"
        cz = s.get(f"{api}/bibs/{plain['target_mms_id']}/portfolios/{plain['target_portfolio_id']}").json()
        assert (cz["is_local"], cz["is_standalone"], cz["availability"]["value"]) == (False, False, "11")
        assert cz["electronic_collection"]["id"]["value"].startswith("61")
        assert s.get(f"{api}/electronic/e-collections/{cz['electronic_collection']['id']['value']}").status_code == 200
        nz = next(r for r in lib.rows if r["scenario"] == "nz_linked")
        nz_bib = s.get(f"{api}/bibs/{nz['mms_id']}").json()
        assert nz_bib["linked_record_id"]["type"] == "NZ"
        assert any(n.startswith("(EXLNZ-01CARLI_NETWORK)") for n in nz_bib["network_number"])
        relink = next(r for r in lib.rows if r["scenario"] == "relink_active_pol")
        pol = s.get(f"{api}/acq/po-lines/{relink['po_line']}").json()
        assert pol["status"]["value"] == "ACTIVE" and pol["resource_metadata"]["mms_id"]["value"] == relink["mms_id"]
        assert_conforms(sb.requests)


def _act_like_the_processor(s, api, row) -> None:
    """What the default policy does for the row (skip rows that are expected to be skipped)."""
    if row["expected_outcome"] != "Done":
        return
    if row["action"] == "relink":
        pol = s.get(f"{api}/acq/po-lines/{row['po_line']}").json()
        pol["resource_metadata"]["mms_id"] = {"value": row["target_mms_id"]}
        assert s.put(f"{api}/acq/po-lines/{row['po_line']}", json=pol).status_code == 200
        port = s.get(f"{api}/bibs/{row['target_mms_id']}/portfolios/{row['target_portfolio_id']}").json()
        port["po_line"] = {"value": row["po_line"]}
        assert s.put(f"{api}/bibs/{row['target_mms_id']}/portfolios/{row['target_portfolio_id']}", json=port).status_code == 200
    handling = {"delete": "delete", "suppress": "suppress", "keep": "retain"}[row["bib_handling"] or "keep"]
    r = s.delete(f"{api}/bibs/{row['mms_id']}/portfolios/{row['portfolio_id']}", params={"bib": handling})
    assert r.status_code == 204, r.text


def test_expected_bib_outcomes_agree_with_the_sandbox(lib):
    with Sandbox.start(seed=lib.seed) as sb:
        s = requests.Session()
        s.headers.update({"Authorization": f"apikey {sb.api_key}", "Accept": "application/json"})
        api = sb.url + "/almaws/v1"
        for row in lib.rows:
            _act_like_the_processor(s, api, row)
        state = sb.state()
        for row in lib.rows:
            bib = state["bibs"].get(f"99{row['voyager_bib_id']}12205899")
            expected = row["expected_bib"]
            if expected.startswith(("deleted", "unlinked")):
                assert bib is None, row
            elif expected == "suppressed":
                assert bib["suppress_from_publishing"] == "true", row
            else:
                assert bib is not None and bib["suppress_from_publishing"] == "false", row
            if row["scenario"] == "closed_pol_delete":
                assert row["po_number"] and any(p["resource_metadata"]["mms_id"]["value"] == row["mms_id"]
                                                 for p in state["po_lines"].values())
            if row["scenario"] == "staff_mistake_cz":
                assert row["portfolio_id"] in state["portfolios"]
        assert_conforms(sb.requests)


def test_workbook_opens_with_ids_as_text(lib, tmp_path):
    path = write_workbook(lib, tmp_path / "p2e.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["P2E"]
    ws = wb["P2E"]
    assert "P2E report" in ws["A1"].value
    header = [c.value for c in ws[2]]
    assert header[0] == "BIB_ID" and header[14] == "856 URL" and header[15] is None
    assert header[16:] == ["MMS ID", "Portfolio ID", "Action", "Bib handling", "Target MMS ID", "Target Portfolio ID", "PO Line"]
    col = {name: i for i, name in enumerate(header) if name}
    for excel_row, row in zip(ws.iter_rows(min_row=3), lib.rows):
        cells = {name: excel_row[i] for name, i in col.items()}
        assert cells["BIB_ID"].value == row["voyager_bib_id"] and cells["BIB_ID"].data_type == "s"
        assert cells["MMS ID"].value == row["mms_id"] and isinstance(cells["MMS ID"].value, str)
        assert cells["MMS ID"].number_format == "@" and cells["Portfolio ID"].number_format == "@"
        assert cells["Portfolio ID"].value == row["portfolio_id"]
        assert (cells["Target MMS ID"].value or "") == row["target_mms_id"]
        assert (cells["PO Line"].value or "") == row["po_line"]
        assert cells["Action"].value == row["action"]
        assert cells["856 URL"].value == row["url"]
    assert ws.max_row == 2 + len(lib.rows)


def test_workbook_expected_sheet_is_optional(lib, tmp_path):
    wb = openpyxl.load_workbook(write_workbook(lib, tmp_path / "demo.xlsx", include_expected=True), read_only=True)
    assert wb.sheetnames == ["P2E", "Sandbox expected"]
    rows = list(wb["Sandbox expected"].iter_rows(values_only=True))
    assert rows[0] == ("Row", "BIB_ID", "Scenario", "Expected outcome", "Expected bib")
    assert rows[1][1] == lib.rows[0]["voyager_bib_id"] and rows[1][3] == lib.rows[0]["expected_outcome"]


def test_serve_from_cli_generates_workbook_and_prints_url(tmp_path, monkeypatch):
    import threading

    from p2e.sandbox import server as server_mod
    from p2e.sandbox import serve_from_cli

    printed: list[str] = []
    started: list = []
    real_start = server_mod.Sandbox.start

    def start(*a, **kw):
        sb = real_start(*a, **kw)
        started.append(sb)
        return sb

    monkeypatch.setattr(server_mod.Sandbox, "start", staticmethod(start))
    out = tmp_path / "demo.xlsx"
    t = threading.Thread(target=serve_from_cli, kwargs=dict(port=0, seed_path=None, generate=12, latency_ms=0,
                                                            rate_limit=None, workbook_out=out, print_fn=printed.append))
    t.start()
    for _ in range(200):
        if started and any("listening" in p for p in printed):
            break
        t.join(0.02)
    sb = started[0]
    try:
        assert out.exists()
        assert any(sb.url in p for p in printed) and any(sb.api_key in p for p in printed)
        assert any(str(out.resolve()) in p for p in printed)
        r = requests.get(f"{sb.url}/sandbox/state").json()
        assert len(r["bibs"]) > 12
    finally:
        sb.stop()
        t.join(5)
    assert not t.is_alive()
