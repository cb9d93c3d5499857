"""The sandbox's SRU server over real HTTP: Alma's SRU 1.2 as published (shared/notes/alma-api.md section 9)."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
import requests

from p2e.alma.contract import assert_conforms
from p2e.sandbox import Sandbox

SRW = "{http://www.loc.gov/zing/srw/}"
MARC = "{http://www.loc.gov/MARC21/slim}"
DIAG = "{http://www.loc.gov/zing/srw/diagnostic/}"
SUFFIX = "12205899"
COLL, SERV = "6110000012205899", "6210000012205899"
P2E, P2E_PID = "99553996612205899", "53100000112205899"
CZ, CZ_PID = "99100000000112205899", "53100000212205899"
PRINT = "99100000000212205899"
OTHER_EDITION = "99100000000312205899"
SERIAL = "99100000000412205899"
MANY = [f"99200000{n:04d}{SUFFIX}" for n in range(23)]


def make_seed() -> dict:
    bibs = [
        {"mms_id": P2E, "title": "Aliens & anorexia", "isbns": ["9781584351269 (electronic bk.)"],
         "network_numbers": ["(UIUdb)5539966", "(OCoLC)ocn190789234"], "url": "http://example.org/p2e"},
        {"mms_id": CZ, "title": "Aliens & anorexia", "isbns": ["978-1-58435-126-9"],
         "linked_record_id": {"value": "9912345670001111", "type": "CZ"},
         "network_numbers": ["(EXLCZ)9912345670001111", "(OCoLC)190789234"]},
        {"mms_id": PRINT, "title": "Aliens and anorexia", "isbns": ["1584350954 (pbk.)"], "form": "print"},
        {"mms_id": OTHER_EDITION, "title": "Aliens & anorexia : second edition", "isbns": ["9781584359999"],
         "edition": "2nd ed."},
        {"mms_id": SERIAL, "title": "Journal of quiet rivers", "issn": "1234-5679", "doi": "10.1000/jqr"},
    ] + [{"mms_id": m, "title": f"Many rivers {n}"} for n, m in enumerate(MANY)]
    portfolios = [
        {"id": P2E_PID, "mms_id": P2E, "url": "http://example.org/p2e"},
        {"id": CZ_PID, "mms_id": CZ, "is_local": False, "is_standalone": False, "collection_id": COLL,
         "service_id": SERV, "coverage": "Available from 2008", "library": "MAIN"},
    ]
    return {"format": "p2e-sandbox-seed/1", "institution_suffix": SUFFIX, "bibs": bibs, "portfolios": portfolios,
            "e_collections": [{"id": COLL, "name": "Academic Complete", "service_id": SERV, "interface": "Ebook Central"}]}


@pytest.fixture
def sb():
    with Sandbox.start(seed=make_seed()) as sandbox:
        yield sandbox
        if not getattr(sandbox, "off_contract", False):
            assert_conforms(sandbox.requests)


def search(sb, query, **params):
    r = requests.get(sb.sru_url, params={"version": "1.2", "operation": "searchRetrieve", "query": query, **params})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(r.content)


def ids(root) -> list[str]:
    return [r.findtext(f"{SRW}recordIdentifier") for r in root.iter(f"{SRW}record")]


def diagnostic(root) -> tuple[str, str]:
    d = root.find(f"{SRW}diagnostics/{DIAG}diagnostic")
    assert d is not None and root.findtext(f"{SRW}numberOfRecords") == "0"
    return d.findtext(f"{DIAG}uri").rsplit("/", 1)[-1], d.findtext(f"{DIAG}message")


def test_search_retrieve_answers_marcxml_records_in_the_srw_namespace_without_an_api_key(sb):
    root = search(sb, "alma.mms_id=" + P2E, recordSchema="marcxml")
    assert root.tag == f"{SRW}searchRetrieveResponse" and root.findtext(f"{SRW}version") == "1.2"
    assert root.findtext(f"{SRW}numberOfRecords") == "1"
    rec = root.find(f"{SRW}records/{SRW}record")
    assert rec.findtext(f"{SRW}recordSchema") == "marcxml" and rec.findtext(f"{SRW}recordIdentifier") == P2E
    marc = rec.find(f"{SRW}recordData/{MARC}record")
    assert marc.find(f"{MARC}controlfield[@tag='001']").text == P2E
    assert sb.requests[-1]["apikey_sent"] is False and sb.requests[-1]["path"] == f"/view/sru/{sb.institution_code}"


def test_isbns_are_matched_without_hyphens_or_qualifiers_and_or_ed_in_one_query(sb):
    assert ids(search(sb, "alma.isbn=9781584351269")) == [P2E, CZ]
    assert ids(search(sb, 'alma.isbn="978-1-58435-126-9"')) == [P2E, CZ]
    both = search(sb, 'alma.isbn="1584350954" or alma.isbn="9781584359999"')
    assert ids(both) == [PRINT, OTHER_EDITION]


def test_an_isbn_10_does_not_find_its_isbn_13_twin(sb):
    """Stricter than guessing: a client that wants both forms sends both."""
    assert ids(search(sb, "alma.isbn=1584351263")) == []


def test_oclc_other_system_number_issn_and_portfolio_indexes(sb):
    assert ids(search(sb, "alma.oclc_control_number_035_a=190789234")) == [P2E, CZ]
    assert ids(search(sb, 'alma.oclc_control_number_035_a="(OCoLC)ocn190789234"')) == [P2E, CZ]
    assert ids(search(sb, 'alma.other_system_number="(UIUdb)5539966"')) == [P2E]
    assert ids(search(sb, "alma.other_system_number=5539966")) == []
    assert ids(search(sb, "alma.issn=12345679")) == ids(search(sb, "alma.issn=1234-5679")) == [SERIAL]
    assert ids(search(sb, f"alma.portfolio_pid={CZ_PID}")) == [CZ]


def test_title_relations_all_any_and_exact(sb):
    assert ids(search(sb, 'alma.title all "anorexia aliens"')) == [P2E, CZ, PRINT, OTHER_EDITION]
    assert ids(search(sb, 'alma.title="aliens anorexia"')) == [P2E, CZ, PRINT, OTHER_EDITION]
    assert ids(search(sb, 'alma.title=="Aliens & anorexia"')) == [P2E, CZ]
    assert set(ids(search(sb, 'alma.title any "quiet anorexia"'))) == {P2E, CZ, PRINT, OTHER_EDITION, SERIAL}
    found = search(sb, '(alma.title all "aliens anorexia" and alma.isbn=9781584351269) or alma.issn=1234-5679')
    assert ids(found) == [P2E, CZ, SERIAL]


def test_ave_fields_carry_portfolio_collection_status_coverage_and_interface(sb):
    rec = search(sb, f"alma.mms_id={CZ}").find(f".//{MARC}record")
    ave = {sf.get("code"): sf.text for sf in rec.find(f"{MARC}datafield[@tag='AVE']")}
    assert ave == {"8": CZ_PID, "c": COLL, "m": "Academic Complete", "e": "Available", "s": "Available from 2008",
                   "t": "Ebook Central", "l": "MAIN"}
    p2e = search(sb, f"alma.mms_id={P2E}").find(f".//{MARC}record")
    assert [sf.get("code") for sf in p2e.find(f"{MARC}datafield[@tag='AVE']")] == ["8", "e"]


def test_availability_can_be_left_unpublished(sb):
    sb.set_options(sru_publish_availability=False)
    rec = search(sb, f"alma.mms_id={CZ}").find(f".//{MARC}record")
    assert rec.find(f"{MARC}datafield[@tag='AVE']") is None
    assert rec.find(f"{MARC}datafield[@tag='020']") is not None


def test_the_same_records_as_the_rest_side_after_a_write(sb):
    h = {"Authorization": f"apikey {sb.api_key}"}
    r = requests.delete(f"{sb.url}/almaws/v1/bibs/{CZ}/portfolios/{CZ_PID}", params={"bib": "retain"}, headers=h)
    assert r.status_code == 204
    rec = search(sb, f"alma.mms_id={CZ}").find(f".//{MARC}record")
    assert rec.find(f"{MARC}datafield[@tag='AVE']") is None
    assert ids(search(sb, f"alma.portfolio_pid={CZ_PID}")) == []
    r = requests.delete(f"{sb.url}/almaws/v1/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "delete"}, headers=h)
    assert r.status_code == 204
    assert ids(search(sb, "alma.isbn=9781584351269")) == [CZ]


def test_records_are_paged_with_start_record_maximum_records_and_next_position(sb):
    first = search(sb, 'alma.title all "many rivers"')
    assert first.findtext(f"{SRW}numberOfRecords") == "23" and len(ids(first)) == 10
    assert first.findtext(f"{SRW}nextRecordPosition") == "11"
    last = search(sb, 'alma.title all "many rivers"', startRecord="21", maximumRecords="50")
    assert ids(last) == MANY[20:] and last.find(f"{SRW}nextRecordPosition") is None
    positions = [r.findtext(f"{SRW}recordPosition") for r in last.iter(f"{SRW}record")]
    assert positions == ["21", "22", "23"]
    assert search(sb, "alma.isbn=0000000000").findtext(f"{SRW}numberOfRecords") == "0"


@pytest.mark.parametrize("params, number", [
    ({"query": "alma.isbn="}, "10"),
    ({"query": "alma.isbn=1 or"}, "10"),
    ({"query": "(alma.isbn=1"}, "10"),
    ({"query": "alma.colour=blue"}, "16"),
    ({"query": "aliens"}, "16"),
    ({"query": "alma.title adj aliens"}, "19"),
    ({"query": "alma.isbn=1 not alma.isbn=2"}, "37"),
    ({"query": ""}, "7"),
    ({"query": "alma.isbn=1", "maximumRecords": "51"}, "6"),
    ({"query": "alma.isbn=1", "startRecord": "0"}, "6"),
    ({"query": "alma.isbn=9781584351269", "startRecord": "9"}, "61"),
    ({"query": "alma.isbn=1", "recordSchema": "dc"}, "66"),
    ({"query": "alma.isbn=1", "version": "1.1"}, "5"),
    ({"query": "alma.isbn=1", "operation": "scan"}, "4"),
])
def test_bad_requests_get_an_sru_diagnostic(sb, params, number):
    sb.off_contract = True
    r = requests.get(sb.sru_url, params={"version": "1.2", "operation": "searchRetrieve", **params})
    assert r.status_code == 200
    code, message = diagnostic(ET.fromstring(r.content))
    assert code == number and message


def test_explain_lists_the_indexes_and_the_page_size(sb):
    r = requests.get(sb.sru_url, params={"version": "1.2", "operation": "explain"})
    root = ET.fromstring(r.content)
    assert root.tag == f"{SRW}explainResponse"
    names = {n.text for n in root.iter("{http://explain.z3950.org/dtd/2.0/}name")}
    assert {"isbn", "issn", "oclc_control_number_035_a", "other_system_number", "title", "mms_id", "portfolio_pid"} <= names


def test_sru_switched_off_is_not_an_sru_answer(sb):
    sb.set_options(sru_enabled=False)
    r = requests.get(sb.sru_url, params={"version": "1.2", "operation": "searchRetrieve", "query": "alma.isbn=1"})
    assert r.status_code == 403 and b"searchRetrieveResponse" not in r.content


def test_another_institution_code_is_not_found(sb):
    sb.off_contract = False
    r = requests.get(f"{sb.url}/view/sru/01OTHER_INST", params={"version": "1.2", "operation": "explain"})
    assert r.status_code == 404


def test_sru_counts_against_the_thresholds_only_when_switched_so(sb):
    sb.set_options(daily_limit=2)
    assert search(sb, "alma.isbn=1").tag == f"{SRW}searchRetrieveResponse"
    assert search(sb, "alma.isbn=1").tag == f"{SRW}searchRetrieveResponse"
    r = requests.get(sb.sru_url, params={"version": "1.2", "operation": "searchRetrieve", "query": "alma.isbn=1"})
    assert r.status_code == 429
    sb.set_options(daily_limit=2, sru_counts_against_thresholds=False)
    for _ in range(3):
        assert search(sb, "alma.isbn=1").tag == f"{SRW}searchRetrieveResponse"
    assert sb.daily_remaining == 2
