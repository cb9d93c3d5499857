"""The embedded Alma, over real HTTP on loopback: one test per Alma rule the project relies on."""
from __future__ import annotations

import re
import time

import pytest
import requests

from p2e.alma.contract import assert_conforms
from p2e.sandbox import Sandbox

SUFFIX = "12205899"
P2E = "99553996612205899"        # P2E bib, local, Voyager id 5539966
P2E_PID = "53100000112205899"    # its standalone local portfolio
CZ = "99100000000112205899"      # CZ-linked duplicate bib
CZ_PID = "53100000212205899"     # its CZ-linked portfolio in a collection
COLL, SERV = "6110000012205899", "6210000012205899"
HOLD_BIB, HOLD_PID, HOLDING = "99111111112205899", "53100000312205899", "22100000112205899"
TWO_BIB, TWO_PID_A, TWO_PID_B = "99222222212205899", "53100000412205899", "53100000512205899"
OPEN_BIB, OPEN_PID = "99333333312205899", "53100000612205899"
CLOSED_BIB, CLOSED_PID = "99444444412205899", "53100000712205899"
NZ_BIB, NZ_PID, NZ_ID = "99555555512205899", "53100000812205899", "991084484299705816"
MANY_BIB = "99666666612205899"


def make_seed() -> dict:
    bibs = [
        {"mms_id": P2E, "title": "Aliens & anorexia", "isbn": "9781584351269",
         "network_numbers": ["(UIUdb)5539966", "(OCoLC)ocn190789234"], "url": "http://example.org/p2e"},
        {"mms_id": CZ, "title": "Aliens & anorexia", "linked_record_id": {"value": "9912345670001111", "type": "CZ"},
         "network_numbers": ["(EXLCZ)9912345670001111"]},
        {"mms_id": HOLD_BIB, "title": "Has a holding", "network_numbers": ["(UIUdb)1111111"]},
        {"mms_id": TWO_BIB, "title": "Two portfolios", "network_numbers": ["(UIUdb)2222222"]},
        {"mms_id": OPEN_BIB, "title": "Open order", "network_numbers": ["(UIUdb)3333333"]},
        {"mms_id": CLOSED_BIB, "title": "Closed order", "network_numbers": ["(UIUdb)4444444"]},
        {"mms_id": NZ_BIB, "title": "Network bib", "linked_record_id": {"value": NZ_ID, "type": "NZ"},
         "network_numbers": ["(UIUdb)5555555", f"(EXLNZ-01CARLI_NETWORK){NZ_ID}"]},
        {"mms_id": MANY_BIB, "title": "Many portfolios"},
    ]
    portfolios = [
        {"id": P2E_PID, "mms_id": P2E, "url": "http://example.org/p2e"},
        {"id": CZ_PID, "mms_id": CZ, "is_local": False, "is_standalone": False, "collection_id": COLL, "service_id": SERV},
        {"id": HOLD_PID, "mms_id": HOLD_BIB},
        {"id": TWO_PID_A, "mms_id": TWO_BIB},
        {"id": TWO_PID_B, "mms_id": TWO_BIB},
        {"id": OPEN_PID, "mms_id": OPEN_BIB, "po_line": "POL-1"},
        {"id": CLOSED_PID, "mms_id": CLOSED_BIB, "po_line": "POL-2"},
        {"id": NZ_PID, "mms_id": NZ_BIB},
    ] + [{"id": f"5390000{n:02d}{SUFFIX}", "mms_id": MANY_BIB} for n in range(12)]
    return {
        "format": "p2e-sandbox-seed/1", "institution_suffix": SUFFIX,
        "bibs": bibs, "portfolios": portfolios,
        "po_lines": [{"number": "POL-1", "status": "ACTIVE", "mms_id": OPEN_BIB, "title": "Open order"},
                     {"number": "POL-2", "status": "CLOSED", "mms_id": CLOSED_BIB, "title": "Closed order"},
                     {"number": "POL-3", "status": "CANCELLED", "mms_id": CLOSED_BIB, "title": "Closed order"}],
        "holdings": [{"id": HOLDING, "mms_id": HOLD_BIB}],
        "e_collections": [{"id": COLL, "name": "Ebook Central Academic Complete", "service_id": SERV}],
    }


@pytest.fixture
def sb():
    with Sandbox.start(seed=make_seed()) as sandbox:
        yield sandbox
        # tests that send off-contract calls on purpose set sandbox.off_contract
        if not getattr(sandbox, "off_contract", False):
            assert_conforms(sandbox.requests)


def error_of(resp) -> dict:
    body = resp.json()
    assert body["errorsExist"] is True
    err = body["errorList"]["error"][0]
    assert isinstance(err["errorCode"], str)
    return err


# ---------------------------------------------------------------- auth
def test_header_and_query_apikey_both_work(sb):
    r1 = requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}", headers={"Authorization": f"apikey {sb.api_key}", "Accept": "application/json"})
    r2 = requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}", params={"apikey": sb.api_key, "format": "json"})
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["mms_id"] == r2.json()["mms_id"] == P2E
    assert "apikey" not in sb.requests[-1]["query"]


@pytest.mark.parametrize("headers,params", [({}, {}), ({"Authorization": "apikey wrong"}, {}), ({}, {"apikey": "l7xx-nope"})])
def test_missing_or_unknown_key_is_400_unauthorized(sb, headers, params):
    r = requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}", headers={**headers, "Accept": "application/json"}, params=params)
    assert r.status_code == 400
    err = error_of(r)
    assert err == {"errorCode": "UNAUTHORIZED", "errorMessage": "API-key not defined or not configured to allow this API."}


def test_readonly_key_reads_but_cannot_write(sb):
    h = {"Authorization": f"apikey {sb.readonly_key}", "Accept": "application/json"}
    assert requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}/portfolios/{P2E_PID}", headers=h).status_code == 200
    r = requests.delete(f"{sb.url}/almaws/v1/bibs/{P2E}/portfolios/{P2E_PID}", headers=h, params={"bib": "delete"})
    assert r.status_code == 400 and error_of(r)["errorCode"] == "UNAUTHORIZED"
    r = requests.post(f"{sb.url}/almaws/v1/bibs/test", headers=h)
    assert r.status_code == 400 and error_of(r)["errorCode"] == "UNAUTHORIZED"
    assert P2E_PID in sb.state()["portfolios"]


def test_test_endpoints_read_and_write(alma):
    for path in ("/bibs/test", "/acq/test"):
        assert alma.get(path).status_code == 200
        assert alma.post(path).status_code == 200


def test_test_endpoints_answer_as_published(sb):
    """``<test>GET - OK - institutionCode: 01ABC_INST</test>`` and ``<test>POST - OK</test>``, with the allowance."""
    h = {"Authorization": f"apikey {sb.api_key}"}
    for area in ("bibs", "acq"):
        r = requests.get(f"{sb.url}/almaws/v1/{area}/test", headers=h)
        assert r.status_code == 200 and r.headers["X-Exl-Api-Remaining"].isdigit()
        assert r.text.endswith(f"<test>GET - OK - institutionCode: {sb.institution_code}</test>")
        r = requests.post(f"{sb.url}/almaws/v1/{area}/test", headers=h)
        assert r.status_code == 200 and r.text.endswith("<test>POST - OK</test>")
    r = requests.get(f"{sb.url}/almaws/v1/bibs/test", headers={**h, "Accept": "application/json"})
    assert r.json() == {"test": f"GET - OK - institutionCode: {sb.institution_code}"}


def test_e_collections_list_is_the_electronic_probe(alma):
    body = alma.get("/electronic/e-collections", params={"limit": 1}).json()
    assert body["total_record_count"] >= 1 and len(body["electronic_collection"]) == 1


def test_a_key_without_acquisitions_gets_the_unauthorized_envelope_there_only(sb):
    h = {"Authorization": f"apikey {sb.no_acq_key}", "Accept": "application/json"}
    for method in ("GET", "POST"):
        assert requests.request(method, f"{sb.url}/almaws/v1/bibs/test", headers=h).status_code == 200
        r = requests.request(method, f"{sb.url}/almaws/v1/acq/test", headers=h)
        assert r.status_code == 400 and error_of(r) == {"errorCode": "UNAUTHORIZED",
                                                        "errorMessage": "API-key not defined or not configured to allow this API."}
    assert requests.get(f"{sb.url}/almaws/v1/electronic/e-collections", headers=h, params={"limit": 1}).status_code == 200


# ---------------------------------------------------------------- envelopes and formats
def test_error_envelope_matches_alma_json(alma):
    r = alma.get("/bibs/99100401219703811")
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"errorsExist", "errorList", "result"} and body["result"] is None
    err = body["errorList"]["error"][0]
    assert err["errorCode"] == "402203"
    assert err["errorMessage"] == "Input parameters mmsId 99100401219703811 is not valid."
    assert re.fullmatch(r"E01-\d{10}-[A-Z]{5}-AWAE\d+", err["trackingId"])


def test_non_numeric_mms_id_is_402204(alma):
    r = alma.get("/bibs/banana")
    assert r.status_code == 400
    assert error_of(r) | {"trackingId": ""} == {"errorCode": "402204", "errorMessage": "Input parameters mmsId banana is not numeric.", "trackingId": ""}


def test_xml_when_asked_or_by_default(sb):
    r = requests.get(f"{sb.url}/almaws/v1/bibs/banana", headers={"Authorization": f"apikey {sb.api_key}"})
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/xml")
    assert '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">' in r.text
    assert "<errorCode>402204</errorCode>" in r.text
    r = requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}", headers={"Authorization": f"apikey {sb.api_key}", "Accept": "application/xml"})
    assert r.status_code == 200 and r.text.count("<bib ") == 1
    assert "<network_numbers><network_number>(UIUdb)5539966</network_number>" in r.text
    assert '<controlfield tag="001">99553996612205899</controlfield>' in r.text


def test_2xx_carry_remaining_and_content_length(alma):
    r = alma.get(f"/bibs/{P2E}")
    assert int(r.headers["X-Exl-Api-Remaining"]) > 0 and int(r.headers["Content-Length"]) == len(r.content)
    r = alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "retain"})
    assert r.status_code == 204 and r.content == b"" and r.headers["Content-Length"] == "0"
    assert "X-Exl-Api-Remaining" in r.headers


def test_unknown_route_is_404_and_wrong_verb_405(alma, sb):
    sb.off_contract = True
    r = alma.get("/conf/jobs")
    assert r.status_code == 404 and error_of(r)["errorCode"] == "ROUTE_NOT_FOUND"
    r = alma.delete(f"/acq/po-lines/POL-1")
    assert r.status_code == 405 and error_of(r)["errorCode"] == "METHOD_NOT_ALLOWED"


# ---------------------------------------------------------------- bibs
def test_bib_json_shape(alma):
    bib = alma.get(f"/bibs/{P2E}").json()
    assert bib["mms_id"] == P2E and bib["linked_record_id"] == {"value": None, "type": None}
    assert bib["suppress_from_publishing"] == "false"
    assert "(UIUdb)5539966" in bib["network_number"]
    assert '<datafield ind1=" " ind2=" " tag="035"><subfield code="a">(UIUdb)5539966</subfield>' in bib["anies"][0]
    assert "anies" not in alma.get(f"/bibs/{P2E}", params={"view": "brief"}).json()
    ave = alma.get(f"/bibs/{P2E}", params={"expand": "e_avail"}).json()["anies"][0]
    assert f'tag="AVE"><subfield code="8">{P2E_PID}</subfield>' in ave


def test_get_bibs_by_mms_list_and_other_system_id(alma):
    r = alma.get("/bibs", params={"mms_id": f"{P2E},{CZ},99999999912205899"})
    assert r.json()["total_record_count"] == 2 and [b["mms_id"] for b in r.json()["bib"]] == [P2E, CZ]
    too_many = ",".join(f"99{n}{SUFFIX}" for n in range(101))
    r = alma.get("/bibs", params={"mms_id": too_many})
    assert r.status_code == 400 and error_of(r)["errorCode"] == "402203"
    r = alma.get("/bibs", params={"other_system_id": "(UIUdb)5539966"})
    assert [b["mms_id"] for b in r.json()["bib"]] == [P2E]
    assert alma.get("/bibs", params={"other_system_id": "(UIUdb)0000000"}).json() == {"total_record_count": 0}
    r = alma.get("/bibs", params={"nz_mms_id": NZ_ID})
    assert [b["mms_id"] for b in r.json()["bib"]] == [NZ_BIB]


def test_put_bib_refuses_json_and_suppresses_with_xml(alma, sb):
    r = alma.put(f"/bibs/{P2E}", json={"suppress_from_publishing": "true"})
    assert r.status_code == 400 and error_of(r) | {"trackingId": ""} == {
        "errorCode": "60105", "errorMessage": "JSON is not supported for this API.", "trackingId": ""}
    xml = requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}", params={"apikey": sb.api_key}).text
    xml = xml.replace("<suppress_from_publishing>false</suppress_from_publishing>", "<suppress_from_publishing>true</suppress_from_publishing>")
    r = alma.put(f"/bibs/{P2E}", data=xml.encode(), headers={"Content-Type": "application/xml"})
    assert r.status_code == 200 and r.json()["suppress_from_publishing"] == "true"
    assert "(UIUdb)5539966" in r.json()["network_number"]
    r = alma.put(f"/bibs/{CZ}", data=b"<bib><suppress_from_publishing>true</suppress_from_publishing></bib>",
                 headers={"Content-Type": "application/xml"})
    assert r.status_code == 400 and error_of(r)["errorCode"] == "40166454"


def test_delete_bib_rules(alma, sb):
    r = alma.delete(f"/bibs/{CZ}", params={"override": "false"})
    assert r.status_code == 400 and error_of(r)["errorCode"] == "40166454"
    assert error_of(r)["errorMessage"] == "Delete Bib error. Community Zone Bib cannot be deleted."
    r = alma.delete(f"/bibs/{P2E}")  # still has its portfolio
    assert r.status_code == 400 and error_of(r)["errorCode"] == "4022020"
    assert alma.delete(f"/bibs/{OPEN_BIB}/portfolios/{OPEN_PID}", params={"bib": "retain"}).status_code == 204
    r = alma.delete(f"/bibs/{OPEN_BIB}")  # no inventory left, but POL-1 is ACTIVE
    assert r.status_code == 400 and error_of(r)["errorCode"] == "4022020" and "POL-1" in error_of(r)["errorMessage"]
    assert alma.delete(f"/bibs/{CLOSED_BIB}/portfolios/{CLOSED_PID}", params={"bib": "retain"}).status_code == 204
    r = alma.delete(f"/bibs/{CLOSED_BIB}", params={"override": "true"})  # closed + cancelled POLs do not block
    assert r.status_code == 204 and r.content == b""
    assert error_of(alma.get(f"/bibs/{CLOSED_BIB}"))["errorCode"] == "402203"
    assert alma.get("/acq/po-lines/POL-2").json()["resource_metadata"]["mms_id"]["value"] == CLOSED_BIB
    assert CLOSED_BIB in sb.state()["deleted"]["bibs"]
    assert error_of(alma.delete("/bibs/99999999912205899"))["errorCode"] == "402203"


def test_restore_creates_a_new_bib_with_a_new_mms_id(alma):
    marc = alma.get(f"/bibs/{P2E}").json()["anies"][0].split("?>", 1)[1]
    r = alma.post("/bibs", data=f"<bib><suppress_from_publishing>false</suppress_from_publishing>{marc}</bib>".encode(),
                  headers={"Content-Type": "application/xml"})
    assert r.status_code == 200
    new = r.json()
    assert new["mms_id"] != P2E and new["mms_id"].startswith("99") and new["mms_id"].endswith(SUFFIX)
    assert new["title"] == "Aliens & anorexia" and "(UIUdb)5539966" in new["network_number"]
    assert f'<controlfield tag="001">{new["mms_id"]}</controlfield>' in new["anies"][0]
    assert alma.post("/bibs", json={"record": "x"}).status_code == 400


# ---------------------------------------------------------------- portfolios
def test_portfolio_get_shapes(alma):
    p = alma.get(f"/bibs/{P2E}/portfolios/{P2E_PID}").json()
    assert (p["id"], p["is_local"], p["is_standalone"]) == (P2E_PID, True, True)
    assert p["electronic_collection"] == {"id": {"value": ""}, "service": {"value": ""}}
    assert p["resource_metadata"]["mms_id"]["value"] == P2E and p["po_line"] == {"value": ""}
    cz = alma.get(f"/bibs/{CZ}/portfolios/{CZ_PID}").json()
    assert (cz["is_local"], cz["is_standalone"], cz["availability"]["value"]) == (False, False, "11")
    assert cz["electronic_collection"]["id"]["value"] == COLL and cz["electronic_collection"]["service"]["value"] == SERV


def test_portfolio_not_found_or_on_another_bib_is_60123(alma):
    assert error_of(alma.get(f"/bibs/{P2E}/portfolios/53999999912205899"))["errorCode"] == "60123"
    r = alma.get(f"/bibs/{P2E}/portfolios/{CZ_PID}")
    assert r.status_code == 400 and error_of(r) | {"trackingId": ""} == {
        "errorCode": "60123", "errorMessage": "Failed to find the Portfolio ID.", "trackingId": ""}
    assert error_of(alma.delete(f"/bibs/{P2E}/portfolios/{CZ_PID}", params={"bib": "delete"}))["errorCode"] == "60123"


def test_get_after_delete_is_60123(alma):
    assert alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "retain"}).status_code == 204
    assert error_of(alma.get(f"/bibs/{P2E}/portfolios/{P2E_PID}"))["errorCode"] == "60123"
    assert error_of(alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "retain"}))["errorCode"] == "60123"


def test_delete_bib_delete_removes_a_bib_left_without_inventory(alma, sb):
    assert alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "delete"}).status_code == 204
    assert error_of(alma.get(f"/bibs/{P2E}"))["errorCode"] == "402203"
    state = sb.state()
    assert P2E in state["deleted"]["bibs"] and P2E_PID in state["deleted"]["portfolios"]
    assert CZ in state["bibs"] and CZ_PID in state["portfolios"]


def test_delete_bib_retain_keeps_the_bib_unsuppressed(alma):
    assert alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "retain"}).status_code == 204
    assert alma.get(f"/bibs/{P2E}").json()["suppress_from_publishing"] == "false"


def test_delete_bib_suppress_suppresses(alma):
    assert alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "suppress"}).status_code == 204
    assert alma.get(f"/bibs/{P2E}").json()["suppress_from_publishing"] == "true"


@pytest.mark.parametrize("bib,pid", [(HOLD_BIB, HOLD_PID), (TWO_BIB, TWO_PID_A), (OPEN_BIB, OPEN_PID)],
                         ids=["holding", "another-portfolio", "open-po-line"])
@pytest.mark.parametrize("handling", ["delete", "suppress"])
def test_bib_with_other_inventory_or_open_pol_is_left_alone(alma, bib, pid, handling):
    assert alma.delete(f"/bibs/{bib}/portfolios/{pid}", params={"bib": handling}).status_code == 204
    r = alma.get(f"/bibs/{bib}")
    assert r.status_code == 200 and r.json()["suppress_from_publishing"] == "false"


def test_closed_pol_does_not_keep_the_bib(alma):
    assert alma.delete(f"/bibs/{CLOSED_BIB}/portfolios/{CLOSED_PID}", params={"bib": "delete"}).status_code == 204
    assert error_of(alma.get(f"/bibs/{CLOSED_BIB}"))["errorCode"] == "402203"
    assert alma.get("/acq/po-lines/POL-2").json()["status"]["value"] == "CLOSED"


def test_invalid_bib_handling_is_refused(alma, sb):
    sb.off_contract = True
    r = alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "remove"})
    assert r.status_code == 400 and alma.get(f"/bibs/{P2E}/portfolios/{P2E_PID}").status_code == 200


def test_nz_linked_bib_unlink_and_delete(alma, sb):
    assert alma.delete(f"/bibs/{NZ_BIB}/portfolios/{NZ_PID}", params={"bib": "delete"}).status_code == 204
    assert error_of(alma.get(f"/bibs/{NZ_BIB}"))["errorCode"] == "402203"


def test_nz_linked_bib_retained_then_unlinked_by_op_and_deleted(alma, sb):
    sb.set_options(nz_bib_delete="retain")
    assert alma.delete(f"/bibs/{NZ_BIB}/portfolios/{NZ_PID}", params={"bib": "delete"}).status_code == 204
    assert alma.get(f"/bibs/{NZ_BIB}").json()["linked_record_id"] == {"value": NZ_ID, "type": "NZ"}
    assert error_of(alma.delete(f"/bibs/{NZ_BIB}"))["errorCode"] == "4022020"
    r = alma.post(f"/bibs/{NZ_BIB}", params={"op": "unlink_from_nz"}, data=b"<bib/>", headers={"Content-Type": "application/xml"})
    assert r.status_code == 200 and r.json()["linked_record_id"] == {"value": None, "type": None}
    assert not any(n.startswith("(EXLNZ-") for n in r.json()["network_number"])
    assert alma.delete(f"/bibs/{NZ_BIB}").status_code == 204


def test_list_portfolios_limit_offset(alma, sb):
    sb.off_contract = True  # limit=101
    r = alma.get(f"/bibs/{MANY_BIB}/portfolios").json()
    assert r["total_record_count"] == 12 and len(r["portfolio"]) == 10
    r = alma.get(f"/bibs/{MANY_BIB}/portfolios", params={"limit": 5, "offset": 10}).json()
    assert r["total_record_count"] == 12 and [p["id"] for p in r["portfolio"]] == [f"539000010{SUFFIX}", f"539000011{SUFFIX}"]
    assert alma.get(f"/bibs/{MANY_BIB}/portfolios", params={"limit": 101}).status_code == 400
    assert alma.delete(f"/bibs/{P2E}/portfolios/{P2E_PID}", params={"bib": "retain"}).status_code == 204
    assert alma.get(f"/bibs/{P2E}/portfolios").json() == {"total_record_count": 0}
    assert error_of(alma.get("/bibs/99999999912205899/portfolios"))["errorCode"] == "402203"


def test_create_portfolio_with_and_without_trailing_slash(alma):
    for path in (f"/bibs/{P2E}/portfolios/", f"/bibs/{P2E}/portfolios"):
        r = alma.post(path, json={"is_standalone": True, "availability": {"value": "11"},
                                  "linking_details": {"url": "jkey=https://example.org/x"}})
        assert r.status_code == 200
        p = r.json()
        assert p["id"].startswith("53") and p["id"].endswith(SUFFIX) and p["is_local"] is True
    assert alma.get(f"/bibs/{P2E}/portfolios").json()["total_record_count"] == 3
    r = alma.post(f"/bibs/{P2E}/portfolios/", json={"po_line": {"value": "POL-404"}})
    assert error_of(r)["errorCode"] == "60172"


def test_put_portfolio_changes_only_put_tagged_fields(alma):
    p = alma.get(f"/bibs/{P2E}/portfolios/{P2E_PID}").json()
    p["public_note"] = "moved"
    p["availability"] = {"value": "10"}
    p["po_line"] = {"value": "POL-1"}
    p["is_local"] = False
    p["is_standalone"] = False
    p["resource_metadata"]["mms_id"]["value"] = CZ
    p["electronic_collection"] = {"id": {"value": COLL}, "service": {"value": SERV}}
    r = alma.put(f"/bibs/{P2E}/portfolios/{P2E_PID}", json=p)
    assert r.status_code == 200
    got = alma.get(f"/bibs/{P2E}/portfolios/{P2E_PID}").json()
    assert got["public_note"] == "moved" and got["availability"]["value"] == "10" and got["po_line"]["value"] == "POL-1"
    assert (got["is_local"], got["is_standalone"]) == (True, True)
    assert got["resource_metadata"]["mms_id"]["value"] == P2E
    assert got["electronic_collection"] == {"id": {"value": ""}, "service": {"value": ""}}
    assert P2E_PID in [x["id"] for x in alma.get("/acq/po-lines/POL-1").json()["portfolios"]["portfolio"]]
    # swap-all: a field left out is emptied
    del got["public_note"]
    assert alma.put(f"/bibs/{P2E}/portfolios/{P2E_PID}", json=got).json()["public_note"] == ""


def test_put_portfolio_unknown_po_line_is_60172(alma):
    p = alma.get(f"/bibs/{CZ}/portfolios/{CZ_PID}").json()
    p["po_line"] = {"value": "POL-999"}
    r = alma.put(f"/bibs/{CZ}/portfolios/{CZ_PID}", json=p)
    assert r.status_code == 400 and error_of(r)["errorCode"] == "60172"


# ---------------------------------------------------------------- PO lines
def test_po_line_get_shape_and_401871(alma):
    pol = alma.get("/acq/po-lines/POL-1").json()
    assert pol["number"] == "POL-1" and pol["status"] == {"value": "ACTIVE", "desc": "Active"}
    assert pol["resource_metadata"]["mms_id"]["value"] == OPEN_BIB
    assert pol["portfolios"]["total_record_count"] == 1 and pol["portfolios"]["portfolio"][0]["id"] == OPEN_PID
    r = alma.get("/acq/po-lines/POL-404")
    assert r.status_code == 400 and error_of(r)["errorCode"] == "401871"


def test_po_line_search_status_filters(alma, sb):
    sb.off_contract = True  # q=colour~red is outside the published query fields on purpose
    def numbers(**params):
        return [p["number"] for p in alma.get("/acq/po-lines", params=params).json().get("po_line", [])]
    assert numbers(q=f"mms_id~{CLOSED_BIB}") == ["POL-3"]  # ALL = everything except CLOSED
    assert sorted(numbers(q=f"mms_id~{CLOSED_BIB}", status="ALL_WITH_CLOSED")) == ["POL-2", "POL-3"]
    assert numbers(q=f"mms_id~{CLOSED_BIB}", status="CLOSED") == ["POL-2"]
    assert numbers(q=f"mms_id~{OPEN_BIB}", status="ACTIVE") == ["POL-1"]
    assert alma.get("/acq/po-lines", params={"q": f"mms_id~{P2E}"}).json() == {"total_record_count": 0}
    assert error_of(alma.get("/acq/po-lines", params={"q": "colour~red"}))["errorCode"] == "40188600"


@pytest.mark.parametrize("mode", ["accepted", "ignored"])
def test_po_line_relink_switch(sb, alma, mode):
    sb.set_options(pol_relink=mode)
    pol = alma.get("/acq/po-lines/POL-1").json()
    pol["resource_metadata"]["mms_id"] = {"value": CZ}
    pol["vendor_note"] = "relinked by API"
    r = alma.put("/acq/po-lines/POL-1", json=pol)
    assert r.status_code == 200
    after = alma.get("/acq/po-lines/POL-1").json()
    assert after["vendor_note"] == "relinked by API"
    expected = CZ if mode == "accepted" else OPEN_BIB
    assert after["resource_metadata"]["mms_id"]["value"] == expected
    # the bib-delete rule follows the POL's bib
    alma.delete(f"/bibs/{OPEN_BIB}/portfolios/{OPEN_PID}", params={"bib": "delete"})
    assert (alma.get(f"/bibs/{OPEN_BIB}").status_code == 200) == (mode == "ignored")


def test_po_line_put_errors(alma):
    assert error_of(alma.put("/acq/po-lines/POL-404", json={"number": "POL-404"}))["errorCode"] == "401871"
    pol = alma.get("/acq/po-lines/POL-1").json()
    pol["resource_metadata"]["mms_id"] = {"value": "99999999912205899"}
    assert error_of(alma.put("/acq/po-lines/POL-1", json=pol))["errorCode"] == "401876"


# ---------------------------------------------------------------- e-collections, holdings
def test_e_collection_and_holdings(alma):
    c = alma.get(f"/electronic/e-collections/{COLL}").json()
    assert c["id"] == COLL and c["public_name"] == "Ebook Central Academic Complete"
    assert error_of(alma.get("/electronic/e-collections/6199999912205899"))["errorCode"] == "60121"
    h = alma.get(f"/bibs/{HOLD_BIB}/holdings").json()
    assert h["total_record_count"] == 1 and h["holding"][0]["holding_id"] == HOLDING
    assert "holding" not in alma.get(f"/bibs/{P2E}/holdings").json()


# ---------------------------------------------------------------- thresholds
def test_per_second_threshold_429():
    with Sandbox.start(seed=make_seed(), rate_limit=5) as sb:
        s = requests.Session()
        statuses = [s.get(f"{sb.url}/almaws/v1/bibs/{P2E}", params={"apikey": sb.api_key, "format": "json"}) for _ in range(8)]
        codes = [r.status_code for r in statuses]
        assert codes[:5] == [200] * 5 and 429 in codes[5:]
        r429 = next(r for r in statuses if r.status_code == 429)
        assert r429.json() == {"errorsExist": True, "errorList": {"error": [{
            "errorCode": "PER_SECOND_THRESHOLD", "errorMessage": "HTTP requests are more than allowed per second",
            "trackingId": r429.json()["errorList"]["error"][0]["trackingId"]}]}, "result": None}
        time.sleep(1.05)
        assert s.get(f"{sb.url}/almaws/v1/bibs/{P2E}", params={"apikey": sb.api_key}).status_code == 200


def test_daily_threshold_429_and_remaining_header():
    with Sandbox.start(seed=make_seed(), daily_limit=3) as sb:
        s = requests.Session()
        s.headers.update({"Authorization": f"apikey {sb.api_key}", "Accept": "application/json"})
        remaining = [s.get(f"{sb.url}/almaws/v1/bibs/{P2E}").headers["X-Exl-Api-Remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        r = s.get(f"{sb.url}/almaws/v1/bibs/{P2E}")
        assert r.status_code == 429 and error_of(r)["errorCode"] == "DAILY_THRESHOLD"
        assert "X-Exl-Api-Remaining" not in r.headers
        sb.set_options(daily_limit=10)
        assert s.get(f"{sb.url}/almaws/v1/bibs/{P2E}").headers["X-Exl-Api-Remaining"] == "9"


# ---------------------------------------------------------------- realism
def _run(seed_value: int) -> list:
    out = []
    with Sandbox.start(seed=make_seed(), error_rate=0.25, drop_rate=0.15, random_seed=seed_value) as sb:
        s = requests.Session()
        for i in range(30):
            try:
                r = s.get(f"{sb.url}/almaws/v1/bibs/{P2E if i % 2 else CZ}", params={"apikey": sb.api_key, "format": "json"}, timeout=5)
                out.append(r.status_code)
            except requests.ConnectionError:
                out.append("dropped")
        assert [e["status"] or "dropped" for e in sb.requests] == out
    return out


def test_realism_is_reproducible_from_random_seed():
    first, again, other = _run(7), _run(7), _run(8)
    assert first == again
    assert first != other
    assert 500 in first and "dropped" in first and 200 in first


def test_500_body_and_dropped_write_is_applied(sb):
    sb.set_options(drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.delete(f"{sb.url}/almaws/v1/bibs/{P2E}/portfolios/{P2E_PID}", params={"apikey": sb.api_key, "bib": "delete"})
    assert P2E_PID in sb.state()["deleted"]["portfolios"]  # the answer was lost, the delete happened
    sb.set_options(drop_rate=0.0, error_rate=1.0)
    r = requests.get(f"{sb.url}/almaws/v1/bibs/{CZ}", params={"apikey": sb.api_key, "format": "json"})
    assert r.status_code == 500 and error_of(r)["errorCode"] == "INTERNAL_SERVER_ERROR"


def test_slow_answers_and_latency(sb):
    sb.set_options(slow_rate=1.0, slow_ms=400)
    with pytest.raises(requests.Timeout):
        requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}", params={"apikey": sb.api_key}, timeout=0.15)
    sb.set_options(slow_rate=0.0, latency_ms=60)
    t = time.monotonic()
    assert requests.get(f"{sb.url}/almaws/v1/bibs/{P2E}", params={"apikey": sb.api_key}).status_code == 200
    assert time.monotonic() - t >= 0.06


def test_set_options_rejects_unknown_switches(sb):
    with pytest.raises(TypeError):
        sb.set_options(colour="blue")
    with pytest.raises(ValueError):
        sb.set_options(pol_relink="maybe")


# ---------------------------------------------------------------- introspection
def test_state_and_requests_endpoints(alma, sb):
    alma.get(f"/bibs/{P2E}", params={"view": "brief"})
    state = requests.get(f"{sb.url}/sandbox/state").json()
    assert set(state) == {"bibs", "portfolios", "po_lines", "holdings", "e_collections", "deleted"}
    assert state["bibs"][P2E]["mms_id"] == P2E and state["po_lines"]["POL-1"]["number"] == "POL-1"
    log = requests.get(f"{sb.url}/sandbox/requests").json()
    assert log[-1] == {"method": "GET", "path": f"/almaws/v1/bibs/{P2E}", "query": {"view": "brief"}, "status": 200, "error_code": None}
    sb.reset_requests()
    assert sb.requests == []


def test_seed_is_not_changed_by_the_sandbox():
    seed = make_seed()
    with Sandbox.start(seed=seed) as sb:
        requests.delete(f"{sb.url}/almaws/v1/bibs/{P2E}/portfolios/{P2E_PID}", params={"apikey": sb.api_key, "bib": "suppress"})
        assert sb.state()["bibs"][P2E]["suppress_from_publishing"] == "true"
    assert "suppress_from_publishing" not in seed["bibs"][0]
    with Sandbox.start(seed=seed) as sb2:
        assert sb2.state()["bibs"][P2E]["suppress_from_publishing"] == "false"
        assert P2E_PID in sb2.state()["portfolios"]


def test_keep_alive_session_survives_many_calls(sb):
    s = requests.Session()
    for _ in range(50):
        assert s.get(f"{sb.url}/almaws/v1/bibs/test", params={"apikey": sb.api_key}).status_code == 200
    assert sb.connections_opened == 1


def test_po_line_on_a_cz_record_cannot_be_relinked_unless_switched(sb, alma):
    pol = alma.get("/acq/po-lines/POL-1").json()
    pol["resource_metadata"]["mms_id"] = {"value": CZ}
    assert alma.put("/acq/po-lines/POL-1", json=pol).status_code == 200
    back = alma.get("/acq/po-lines/POL-1").json()
    back["resource_metadata"]["mms_id"] = {"value": OPEN_BIB}
    r = alma.put("/acq/po-lines/POL-1", json=back)
    assert r.status_code == 400 and error_of(r)["errorCode"] == "401876"
    sb.set_options(pol_relink_from_cz="accepted")
    assert alma.put("/acq/po-lines/POL-1", json=back).json()["resource_metadata"]["mms_id"]["value"] == OPEN_BIB


def test_a_request_cut_off_mid_body_is_not_processed_or_called_a_refusal(sb):
    # A client killed while sending a PUT: the body stops short of its Content-Length.
    import socket
    import time

    body = b'{"resource_metadata": {"mms_id": {"value": "1"}}}'
    head = (f"PUT /almaws/v1/acq/po-lines/POL-1 HTTP/1.1\r\nHost: x\r\nAuthorization: apikey {sb.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", sb.port)) as conn:
        conn.sendall(head + body[:10])
        conn.shutdown(socket.SHUT_WR)
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while not sb.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [(r["method"], r["status"], r["error_code"]) for r in sb.requests] == [("PUT", 0, "INCOMPLETE")]
