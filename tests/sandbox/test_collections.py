"""E-collections, e-services and their portfolios in the embedded Alma, over real HTTP, as published."""
from __future__ import annotations

import pytest
import requests

from p2e.alma.contract import assert_conforms
from p2e.sandbox import Sandbox

SUFFIX = "12205899"
CZC, CZS = "6110000012205899", "6210000012205899"          # Community Zone collection and its service
LOC, LOC_S1, LOC_S2 = "6120000012205899", "6220000012205899", "6220000112205899"  # local, two services
P2E, P2E_PID = "99553996612205899", "53100000112205899"    # standalone local P2E portfolio
GROUPED, GROUPED_PID = "99777777712205899", "53100000912205899"  # already in the local collection
CZ_BIBS = [f"991000000{n:02d}12205899" for n in range(25)]
CZ_PIDS = [f"531000100{n:02d}12205899" for n in range(25)]


def make_seed() -> dict:
    bibs = [{"mms_id": P2E, "title": "Aliens & anorexia", "isbn": "9781584351269", "network_numbers": ["(UIUdb)5539966"]},
            {"mms_id": GROUPED, "title": "Grouped already"}]
    bibs += [{"mms_id": m, "title": f"CZ title {n}", "linked_record_id": {"value": f"99{n}0001111", "type": "CZ"}}
             for n, m in enumerate(CZ_BIBS)]
    portfolios = [{"id": P2E_PID, "mms_id": P2E, "url": "http://example.org/p2e"},
                  {"id": GROUPED_PID, "mms_id": GROUPED, "is_standalone": False, "collection_id": LOC, "service_id": LOC_S1}]
    portfolios += [{"id": pid, "mms_id": m, "is_local": False, "is_standalone": False, "collection_id": CZC,
                    "service_id": CZS, "availability": "10" if n == 3 else "11"}
                   for n, (m, pid) in enumerate(zip(CZ_BIBS, CZ_PIDS))]
    return {
        "format": "p2e-sandbox-seed/1", "institution_suffix": SUFFIX, "bibs": bibs, "portfolios": portfolios,
        "po_lines": [{"number": "POL-9", "status": "ACTIVE", "mms_id": P2E, "title": "Aliens & anorexia"}],
        "e_collections": [
            {"id": CZC, "name": "Academic Complete", "service_id": CZS},
            {"id": LOC, "name": "UIU Local P2E titles", "is_local": True,
             "services": [{"id": LOC_S1, "public_description": "Full text"},
                          {"id": LOC_S2, "public_description": "Selected full text", "type": "getSelectedFullTxt"}]},
        ],
    }


@pytest.fixture
def sb():
    with Sandbox.start(seed=make_seed()) as sandbox:
        yield sandbox
        if not getattr(sandbox, "off_contract", False):  # set by tests that send an off-contract call on purpose
            assert_conforms(sandbox.requests)


def error_of(resp) -> dict:
    assert resp.status_code == 400
    err = resp.json()["errorList"]["error"][0]
    assert isinstance(err["errorCode"], str)
    return err


E = "/electronic/e-collections"


# ---------------------------------------------------------------- collections
def test_collections_are_listed_in_pages_with_a_total(alma):
    first = alma.get(E, params={"limit": 1, "offset": 0}).json()
    second = alma.get(E, params={"limit": 1, "offset": 1}).json()
    assert first["total_record_count"] == second["total_record_count"] == 2
    ids = [first["electronic_collection"][0]["id"], second["electronic_collection"][0]["id"]]
    assert sorted(ids) == sorted([CZC, LOC])
    past = alma.get(E, params={"limit": 1, "offset": 5}).json()
    assert past == {"total_record_count": 2}


def test_collections_are_found_by_name_with_the_brief_search_q(alma, sb):
    body = alma.get(E, params={"q": "name~local p2e"}).json()
    assert [c["id"] for c in body["electronic_collection"]] == [LOC]
    assert alma.get(E, params={"q": "name~nothing like it"}).json() == {"total_record_count": 0}
    err = error_of(alma.get(E, params={"q": "colour~blue"}))
    assert err["errorCode"] == "60106" and err["errorMessage"] == "Invalid query format."


def test_a_community_zone_collection_shows_is_local_false_and_its_override_fields(alma):
    cz = alma.get(f"{E}/{CZC}").json()
    local = alma.get(f"{E}/{LOC}").json()
    assert cz["is_local"] is False and "public_name_override" in cz and "type_override" in cz
    assert local["is_local"] is True and "public_name_override" not in local
    assert local["public_name"] == "UIU Local P2E titles"
    assert cz["portfolios"]["value"] == 25 and local["portfolios"]["value"] == 1
    err = error_of(alma.get(f"{E}/6199999912205899"))
    assert err["errorCode"] == "60121"


# ---------------------------------------------------------------- services
def test_a_collection_lists_its_services(alma):
    body = alma.get(f"{E}/{LOC}/e-services").json()
    assert body["total_record_count"] == 2
    services = {s["id"]: s for s in body["electronic_service"]}
    assert set(services) == {LOC_S1, LOC_S2}
    assert services[LOC_S2]["type"]["value"] == "getSelectedFullTxt"
    assert services[LOC_S1]["is_local"] is True and services[LOC_S1]["activation_status"]["value"] == "11"
    assert alma.get(f"{E}/{CZC}/e-services").json()["electronic_service"][0]["is_local"] is False
    assert error_of(alma.get(f"{E}/6199999912205899/e-services"))["errorCode"] == "60121"


def test_a_service_is_read_only_through_its_own_collection(alma):
    assert alma.get(f"{E}/{LOC}/e-services/{LOC_S2}").json()["id"] == LOC_S2
    assert error_of(alma.get(f"{E}/{CZC}/e-services/{LOC_S2}"))["errorCode"] == "60122"
    assert error_of(alma.get(f"{E}/6199999912205899/e-services/{LOC_S2}"))["errorCode"] == "60121"


# ---------------------------------------------------------------- service portfolios
def test_service_portfolios_page_up_to_100_with_offset_and_total(alma, sb):
    path = f"{E}/{CZC}/e-services/{CZS}/portfolios"
    default = alma.get(path).json()
    assert default["total_record_count"] == 25 and len(default["portfolio"]) == 10
    seen = []
    for offset in (0, 10, 20):
        page = alma.get(path, params={"limit": 10, "offset": offset}).json()
        seen += [(p["id"], p["resource_metadata"]["mms_id"]["value"]) for p in page["portfolio"]]
    assert seen == list(zip(CZ_PIDS, CZ_BIBS))
    assert len(alma.get(path, params={"limit": 100}).json()["portfolio"]) == 25
    assert alma.get(path, params={"limit": 100, "offset": 25}).json() == {"total_record_count": 25}
    sb.off_contract = True
    assert error_of(alma.get(path, params={"limit": 101}))["errorCode"] == "40166410"
    assert error_of(alma.get(f"{E}/{LOC}/e-services/{CZS}/portfolios"))["errorCode"] == "60122"
    assert error_of(alma.get(f"{E}/6199999912205899/e-services/{CZS}/portfolios"))["errorCode"] == "60121"


def test_a_service_portfolio_is_read_and_a_stranger_is_60123(alma):
    p = alma.get(f"{E}/{CZC}/e-services/{CZS}/portfolios/{CZ_PIDS[3]}").json()
    assert p["availability"]["value"] == "10" and p["is_local"] is False
    assert error_of(alma.get(f"{E}/{CZC}/e-services/{CZS}/portfolios/{P2E_PID}"))["errorCode"] == "60123"


# ---------------------------------------------------------------- POST a portfolio into a service
FULL = {
    "is_local": True, "id": "53999", "is_standalone": True,
    "electronic_collection": {"id": {"value": CZC}, "service": {"value": CZS}},
    "resource_metadata": {"mms_id": {"value": P2E}},
    "availability": {"value": "10"}, "material_type": {"value": "BOOK"}, "activation_date": "2021-08-10Z",
    "library": {"value": "MAIN"}, "access_type": {"value": "CURRENT"},
    "linking_details": {"url": "jkey=https://example.org/book/1", "url_type": {"value": "static"},
                        "static_url": "jkey=https://example.org/book/1", "parser_parameters": "",
                        "proxy_enabled": {"value": "true"}, "proxy": "EZPROXY"},
    "coverage_details": {"coverage_in_use": {"value": "0"}, "global_date_coverage_parameters": [],
                         "local_date_coverage_parameters": [{"from_year": "1999"}], "perpetual_date_coverage_parameters": []},
    "po_line": {"value": "POL-9"}, "license": {"value": "LIC-EBOOKS"},
    "public_note": "Campus only", "authentication_note": "Log in with your NetID",
    "notes": {"note": [{"content": "migrated from Voyager"}]},
    "invented_field": "not in rest_portfolio.xsd",
}


def test_a_portfolio_posted_into_a_local_service_is_new_local_and_carries_every_post_field(alma, sb):
    r = alma.post(f"{E}/{LOC}/e-services/{LOC_S2}/portfolios/", json=FULL)
    assert r.status_code == 200
    new = r.json()
    pid = new["id"]
    assert pid not in (P2E_PID, "53999") and pid.endswith(SUFFIX)
    assert new["is_local"] is True and new["is_standalone"] is False
    assert new["electronic_collection"]["id"]["value"] == LOC            # from the URL, not the body
    assert new["electronic_collection"]["service"]["value"] == LOC_S2
    back = alma.get(f"/bibs/{P2E}/portfolios/{pid}").json()
    assert back["resource_metadata"]["mms_id"]["value"] == P2E
    for key in ("activation_date", "public_note", "authentication_note", "notes", "coverage_details"):
        assert back[key] == FULL[key], key
    assert back["availability"]["value"] == "10" and back["po_line"]["value"] == "POL-9"
    assert back["library"]["value"] == "MAIN" and back["license"]["value"] == "LIC-EBOOKS"
    assert back["access_type"]["value"] == "CURRENT"
    ld = back["linking_details"]
    assert ld["url"] == ld["static_url"] == "jkey=https://example.org/book/1"
    assert ld["proxy_enabled"]["value"] == "true" and ld["proxy"] == "EZPROXY"
    assert "invented_field" not in back
    listed = alma.get(f"{E}/{LOC}/e-services/{LOC_S2}/portfolios").json()
    assert [p["id"] for p in listed["portfolio"]] == [pid]
    assert P2E_PID in sb.state()["portfolios"]  # the standalone one is untouched


def test_a_portfolio_posted_without_the_trailing_slash_is_the_same_call(alma):
    r = alma.post(f"{E}/{LOC}/e-services/{LOC_S1}/portfolios", json={"resource_metadata": {"mms_id": {"value": P2E}}})
    assert r.status_code == 200 and r.json()["electronic_collection"]["service"]["value"] == LOC_S1


def test_a_portfolio_posted_as_xml_is_accepted(sb):
    xml = (f"<portfolio><resource_metadata><mms_id>{P2E}</mms_id></resource_metadata>"
           "<availability>11</availability><public_note>xml note</public_note></portfolio>")
    r = requests.post(f"{sb.url}/almaws/v1{E}/{LOC}/e-services/{LOC_S1}/portfolios/", data=xml,
                      headers={"Authorization": f"apikey {sb.api_key}", "Content-Type": "application/xml",
                               "Accept": "application/json"})
    assert r.status_code == 200 and r.json()["public_note"] == "xml note"


@pytest.mark.parametrize("collection, service, body, code", [
    (LOC, LOC_S1, {"availability": {"value": "11"}}, "60159"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": "99000000012205899"}}}, "60172"),
    ("6199999912205899", LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}}}, "60121"),
    (LOC, CZS, {"resource_metadata": {"mms_id": {"value": P2E}}}, "60122"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}}, "availability": {"value": "99"}}, "60161"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}}, "library": {"value": "NOSUCH"}}, "402469"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}}, "material_type": {"value": "SPACESHIP"}}, "60171"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}}, "license": {"value": "NOSUCH"}}, "60169"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}}, "po_line": {"value": "POL-404"}}, "60172"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}},
                   "linking_details": {"proxy_enabled": {"value": "maybe"}}}, "60167"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}},
                   "linking_details": {"proxy_enabled": {"value": "true"}, "proxy": "NOPROXY"}}, "60168"),
    (LOC, LOC_S1, {"resource_metadata": {"mms_id": {"value": P2E}}, "linking_details": {"url_type": {"value": "magic"}}}, "60166"),
])
def test_a_refused_portfolio_post_names_the_field_in_alma_s_envelope_and_creates_nothing(alma, sb, collection, service, body, code):
    before = set(sb.state()["portfolios"])
    err = error_of(alma.post(f"{E}/{collection}/e-services/{service}/portfolios/", json=body))
    assert err["errorCode"] == code and err["errorMessage"] and err["trackingId"]
    assert set(sb.state()["portfolios"]) == before


def test_a_community_zone_collection_refuses_a_posted_portfolio_unless_switched(alma, sb):
    body = {"resource_metadata": {"mms_id": {"value": P2E}}}
    err = error_of(alma.post(f"{E}/{CZC}/e-services/{CZS}/portfolios/", json=body))
    assert err["errorCode"] == "60162"
    assert err["errorMessage"] == "Problem retrieving the collection or service information."
    sb.set_options(cz_collection_post="accepted")
    assert alma.post(f"{E}/{CZC}/e-services/{CZS}/portfolios/", json=body).json()["is_local"] is True


def test_the_bibs_path_post_into_a_community_zone_collection_is_refused_the_same_way(alma):
    body = {"is_standalone": False, "electronic_collection": {"id": {"value": CZC}, "service": {"value": CZS}}}
    assert error_of(alma.post(f"/bibs/{P2E}/portfolios/", json=body))["errorCode"] == "60162"
    body = {"is_standalone": False, "electronic_collection": {"id": {"value": LOC}, "service": {"value": LOC_S1}}}
    made = alma.post(f"/bibs/{P2E}/portfolios/", json=body).json()
    listed = alma.get(f"{E}/{LOC}/e-services/{LOC_S1}/portfolios").json()
    assert made["id"] in [p["id"] for p in listed["portfolio"]]


def test_put_leaves_electronic_collection_and_is_standalone_as_they_were(alma):
    p = alma.get(f"/bibs/{P2E}/portfolios/{P2E_PID}").json()
    p["is_standalone"] = False
    p["electronic_collection"] = {"id": {"value": LOC}, "service": {"value": LOC_S1}}
    p["public_note"] = "changed"
    back = alma.put(f"/bibs/{P2E}/portfolios/{P2E_PID}", json=p).json()
    assert back["is_standalone"] is True and back["electronic_collection"]["id"]["value"] == ""
    assert back["public_note"] == "changed"
    listed = alma.get(f"{E}/{LOC}/e-services/{LOC_S1}/portfolios").json()
    assert P2E_PID not in [x["id"] for x in listed["portfolio"]]


def test_a_deleted_portfolio_leaves_its_service_listing(alma):
    assert alma.delete(f"/bibs/{GROUPED}/portfolios/{GROUPED_PID}", params={"bib": "retain"}).status_code == 204
    assert alma.get(f"{E}/{LOC}/e-services/{LOC_S1}/portfolios").json() == {"total_record_count": 0}


# ---------------------------------------------------------------- creating collections and services
def test_a_local_collection_and_its_service_are_created(alma):
    coll = alma.post(E, json={"public_name": "UIU P2E group", "type": {"value": "0"}}).json()
    assert coll["is_local"] is True and coll["public_name"] == "UIU P2E group" and coll["id"].startswith("61")
    assert alma.get(f"{E}/{coll['id']}/e-services").json() == {"total_record_count": 0}
    service = alma.post(f"{E}/{coll['id']}/e-services",
                        json={"type": {"value": "getFullTxt"}, "activation_status": {"value": "11"}}).json()
    assert service["is_local"] is True and service["id"].startswith("62")
    made = alma.post(f"{E}/{coll['id']}/e-services/{service['id']}/portfolios/",
                     json={"resource_metadata": {"mms_id": {"value": P2E}}})
    assert made.status_code == 200
    assert alma.get(E, params={"q": "name~UIU P2E group"}).json()["total_record_count"] == 1


@pytest.mark.parametrize("body, code", [
    ({"type": {"value": "0"}}, "60126"),
    ({"public_name": "No type"}, "60127"),
    ({"public_name": "Odd type", "type": {"value": "77"}}, "60127"),
])
def test_a_collection_without_name_or_type_is_refused(alma, body, code):
    assert error_of(alma.post(E, json=body))["errorCode"] == code


@pytest.mark.parametrize("collection, body, code", [
    (LOC, {"activation_status": {"value": "11"}}, "60127"),
    (LOC, {"type": {"value": "getFullTxt"}, "activation_status": {"value": "7"}}, "60138"),
    ("6199999912205899", {"type": {"value": "getFullTxt"}, "activation_status": {"value": "11"}}, "60121"),
    (CZC, {"type": {"value": "getFullTxt"}, "activation_status": {"value": "11"}}, "60149"),
])
def test_a_service_is_refused_when_its_type_status_or_collection_is_wrong(alma, collection, body, code):
    assert error_of(alma.post(f"{E}/{collection}/e-services", json=body))["errorCode"] == code


def test_the_read_only_key_cannot_create_collections_services_or_portfolios(sb):
    h = {"Authorization": f"apikey {sb.readonly_key}", "Accept": "application/json"}
    for path, body in ((E, {"public_name": "x", "type": {"value": "0"}}),
                       (f"{E}/{LOC}/e-services", {"type": {"value": "getFullTxt"}, "activation_status": {"value": "11"}}),
                       (f"{E}/{LOC}/e-services/{LOC_S1}/portfolios/", {"resource_metadata": {"mms_id": {"value": P2E}}})):
        r = requests.post(sb.url + "/almaws/v1" + path, json=body, headers=h)
        assert r.status_code == 400 and r.json()["errorList"]["error"][0]["errorCode"] == "UNAUTHORIZED"


def test_bibs_read_in_a_batch_with_e_avail_show_collection_status_and_name(alma):
    body = alma.get("/bibs", params={"mms_id": f"{CZ_BIBS[3]},{CZ_BIBS[4]},{P2E}", "expand": "e_avail"}).json()
    assert body["total_record_count"] == 3
    marc = {b["mms_id"]: b["anies"][0] for b in body["bib"]}
    assert f'<subfield code="8">{CZ_PIDS[3]}</subfield>' in marc[CZ_BIBS[3]]
    assert '<subfield code="e">Not Available</subfield>' in marc[CZ_BIBS[3]]
    assert f'<subfield code="c">{CZC}</subfield>' in marc[CZ_BIBS[4]]
    assert '<subfield code="m">Academic Complete</subfield>' in marc[CZ_BIBS[4]]
    assert '<subfield code="c">' not in marc[P2E]  # standalone: no collection in its AVE
