"""generate_twins_library: every label agrees with what the sandbox serves (REST and SRU)."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import openpyxl
import pytest
import requests

from p2e.alma.contract import assert_conforms
from p2e.sandbox import Sandbox, generate_library, generate_twins_library, load_seed, save_seed, write_workbook
from p2e.sandbox.twins import LOCAL_COLLECTION, TWIN_MIX

SRW = "{http://www.loc.gov/zing/srw/}"
MARC = "{http://www.loc.gov/MARC21/slim}"


@pytest.fixture(scope="module")
def lib():
    return generate_twins_library(60, random_seed=11)


@pytest.fixture(scope="module")
def sb(lib):
    with Sandbox.start(seed=lib.seed) as sandbox:
        yield sandbox
        assert_conforms(sandbox.requests)


@pytest.fixture(scope="module")
def rest(sb):
    s = requests.Session()
    s.headers.update({"Authorization": f"apikey {sb.api_key}", "Accept": "application/json"})
    yield lambda path, **params: s.get(sb.url + "/almaws/v1" + path, params=params).json()
    s.close()


def sru(sb, query: str) -> list[ET.Element]:
    r = requests.get(sb.sru_url, params={"version": "1.2", "operation": "searchRetrieve", "query": query,
                                         "maximumRecords": "50"})
    root = ET.fromstring(r.content)
    assert root.find(f"{SRW}diagnostics") is None, r.text
    return list(root.iter(f"{MARC}record"))


def mms_of(record: ET.Element) -> str:
    return record.find(f"{MARC}controlfield[@tag='001']").text


def available_cz_twins(sb, rest, records, p2e_mms) -> list[str]:
    """The MMS IDs among ``records`` that are CZ-linked with an Available portfolio in a CZ collection."""
    out = []
    for rec in records:
        mms = mms_of(rec)
        if mms == p2e_mms:
            continue
        bib = rest(f"/bibs/{mms}")
        if (bib["linked_record_id"] or {}).get("type") != "CZ":
            continue
        for ave in rec.findall(f"{MARC}datafield[@tag='AVE']"):
            sub = {sf.get("code"): sf.text for sf in ave}
            if sub.get("e") == "Available" and sub.get("c"):
                if rest(f"/electronic/e-collections/{sub['c']}")["is_local"] is False:
                    out.append(mms)
    return out


def test_one_label_per_row_every_kind_and_deterministic(lib):
    labels = lib.seed["labels"]
    assert len(labels) == len(lib.rows) == 60
    assert {lab["kind"] for lab in labels} == set(TWIN_MIX)
    assert [r["label"] for r in lib.rows] == labels
    assert all(r["action"] == "" for r in lib.rows)
    for lab in labels:
        weight, action, match, decoy = TWIN_MIX[lab["kind"]]
        assert (lab["expected_action"], lab["match"], lab["decoy"]) == (action, match, decoy)
        assert bool(lab["target_mms_id"]) == (action in ("delete", "relink"))
        assert bool(lab["po_line"]) == (action == "relink")
    again = generate_twins_library(60, random_seed=11)
    assert again.seed == lib.seed
    assert len({lab["identifiers"]["title"].lower() for lab in labels}) == 60  # no accidental title twins


def test_every_p2e_bib_has_the_marc_the_suggestion_step_reads(lib, sb, rest):
    for lab in lib.seed["labels"]:
        bib = rest(f"/bibs/{lab['mms_id']}")
        marc = ET.fromstring(bib["anies"][0].split("?>", 1)[1])
        tags = {df.get("tag") for df in marc.iter("datafield")}
        assert {"035", "024", "245", "856"} <= tags and ({"020"} <= tags or {"022"} <= tags)
        assert f"(OCoLC){lab['identifiers']['oclc']}" in bib["network_number"]
        p = rest(f"/bibs/{lab['mms_id']}/portfolios/{lab['portfolio_id']}")
        assert p["is_local"] is True
        assert p["is_standalone"] is (lab["kind"] != "p2e_in_collection")


def test_labels_agree_with_what_sru_and_rest_find(lib, sb, rest):
    for lab in lib.seed["labels"]:
        ids = lab["identifiers"]
        by_isbn = sru(sb, f'alma.isbn="{ids["isbn"]}"') if ids["isbn"] else []
        by_issn = sru(sb, f'alma.issn="{ids["issn"]}"') if ids["issn"] else []
        by_oclc = sru(sb, f'alma.oclc_control_number_035_a="{ids["oclc"]}"')
        strong = {mms_of(r): r for r in by_isbn + by_issn + by_oclc}
        twins = available_cz_twins(sb, rest, list(strong.values()), lab["mms_id"])
        kind = lab["kind"]
        if lab["expected_action"] in ("delete", "relink"):
            assert twins == [lab["target_mms_id"]], kind
            target = rest(f"/bibs/{lab['target_mms_id']}/portfolios/{lab['target_portfolio_id']}")
            assert target["is_local"] is False and target["availability"]["value"] == "11"
        elif kind == "p2e_in_collection":
            assert len(twins) == 1  # a twin exists; the P2E portfolio is not a standalone one
        else:
            assert len(twins) in (0, 2), kind
            assert (len(twins) == 2) == (kind == "two_twins")
        if kind == "twin_by_oclc_only":
            assert lab["target_mms_id"] not in [mms_of(r) for r in by_isbn]
        if kind == "twin_isbn10":
            assert lab["target_mms_id"] not in [mms_of(r) for r in by_isbn]  # SRU does not convert 13 to 10
        same_title = [mms_of(r) for r in sru(sb, f'alma.title=="{ids["title"]}"')]
        if kind in ("other_edition", "print_record", "twin_not_available"):
            assert len(same_title) == 2 and lab["mms_id"] in same_title
        if kind == "no_twin":
            assert same_title == [lab["mms_id"]] and list(strong) == [lab["mms_id"]]
        if kind == "twin_and_other_edition":
            assert len(same_title) == 3


def test_the_open_order_is_on_the_p2e_portfolio_and_bib(lib, sb, rest):
    for lab in lib.seed["labels"]:
        p = rest(f"/bibs/{lab['mms_id']}/portfolios/{lab['portfolio_id']}")
        pols = rest("/acq/po-lines", q=f"mms_id~{lab['mms_id']}", status="ACTIVE")
        if lab["kind"] == "twin_open_order":
            assert p["po_line"]["value"] == lab["po_line"] and pols["total_record_count"] == 1
        else:
            assert p["po_line"]["value"] == "" and pols["total_record_count"] == 0


def test_the_print_decoy_is_a_print_record_with_a_holding_and_no_portfolio(lib, sb, rest):
    lab = next(x for x in lib.seed["labels"] if x["kind"] == "print_record")
    other = [m for m in map(mms_of, sru(sb, f'alma.title=="{lab["identifiers"]["title"]}"')) if m != lab["mms_id"]][0]
    assert rest(f"/bibs/{other}/portfolios") == {"total_record_count": 0}
    assert rest(f"/bibs/{other}/holdings")["total_record_count"] == 1
    marc = rest(f"/bibs/{other}")["anies"][0]
    assert "(pbk.)" in marc and '<controlfield tag="008">200605s2010    xx            000 0 eng d' in marc


def test_a_local_collection_with_a_service_and_the_cz_collections(lib, sb, rest):
    colls = rest("/electronic/e-collections", limit=100)["electronic_collection"]
    local = [c for c in colls if c["is_local"]]
    assert [c["public_name"] for c in local] == [LOCAL_COLLECTION]
    assert len([c for c in colls if not c["is_local"]]) == 5
    services = rest(f"/electronic/e-collections/{local[0]['id']}/e-services")
    assert services["total_record_count"] == 1


def test_generate_library_also_has_the_local_collection_and_is_unchanged_otherwise(tmp_path):
    lib = generate_library(30, random_seed=4)
    local = [c for c in lib.seed["e_collections"] if c.get("is_local")]
    assert [c["name"] for c in local] == [LOCAL_COLLECTION]
    cz_ids = {c["id"] for c in lib.seed["e_collections"] if not c.get("is_local")}
    assert all(p["collection_id"] in cz_ids for p in lib.seed["portfolios"] if p.get("collection_id"))


def test_labels_round_trip_in_the_seed_file_and_the_raw_workbook_has_no_staff_values(lib, tmp_path):
    assert load_seed(save_seed(lib.seed, tmp_path / "twins.json"))["labels"] == lib.seed["labels"]
    path = write_workbook(lib, tmp_path / "raw.xlsx", raw=True)
    ws = openpyxl.load_workbook(path, read_only=True)["P2E"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    header = rows[0]
    mms_col = header.index("MMS ID")
    assert rows[1][0] == lib.rows[0]["voyager_bib_id"]
    assert all(r[mms_col] is None for r in rows[1:])


def test_score_counts_right_only_with_the_right_target_and_lists_every_decoy_deleted(lib):
    from p2e.sandbox.twins import score
    labels = lib.seed["labels"]
    perfect = {lab["portfolio_id"]: (lab["expected_action"] if lab["expected_action"] != "none" else "", lab["target_mms_id"])
               for lab in labels}
    s = score(labels, perfect)
    assert s["delete"]["precision"] == s["delete"]["recall"] == s["relink"]["recall"] == 1.0
    assert s["decoys_deleted"] == [] and s["keep"]["right"] == s["keep"]["expected"] > 0
    two = next(lab for lab in labels if lab["kind"] == "two_twins")
    wrong_target = next(lab for lab in labels if lab["kind"] == "twin")
    s = score(labels, {**perfect, two["portfolio_id"]: ("delete", "99"), wrong_target["portfolio_id"]: ("delete", "98")})
    assert s["delete"]["precision"] < 1.0 and s["delete"]["recall"] < 1.0
    assert sorted(s["decoys_deleted"]) == sorted([f"{two['portfolio_id']} (two_twins)", f"{wrong_target['portfolio_id']} (twin)"])
    assert score(labels, {})["delete"] == {"suggested": 0, "right": 0, "expected": s["delete"]["expected"],
                                           "precision": 1.0, "recall": 0.0}
