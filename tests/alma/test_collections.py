"""The client's e-collection, e-service and service-portfolio calls, against the sandbox on loopback."""
from __future__ import annotations

import pytest

from p2e.alma.client import AlmaClient
from p2e.alma.collections import creatable_fields
from p2e.alma.errors import AlmaError, WriteNotAllowed

SUFFIX = "12205899"
CZC, CZS = "6110000012205899", "6210000012205899"
LOC, LOC_S1, LOC_S2 = "6120000012205899", "6220000012205899", "6220000112205899"
P2E, P2E_PID = "99553996612205899", "53100000112205899"
CZ_BIBS = [f"99{100000000 + n}{SUFFIX}" for n in range(250)]


def make_seed() -> dict:
    bibs = [{"mms_id": P2E, "title": "Aliens & anorexia", "network_numbers": ["(UIUdb)5539966"]}]
    bibs += [{"mms_id": m, "title": f"CZ {n}", "linked_record_id": {"value": f"99{n}0001111", "type": "CZ"}}
             for n, m in enumerate(CZ_BIBS)]
    portfolios = [{"id": P2E_PID, "mms_id": P2E, "url": "http://example.org/p2e", "po_line": "POL-9"}]
    portfolios += [{"id": f"53{200000000 + n}{SUFFIX}", "mms_id": m, "is_local": False, "is_standalone": False,
                    "collection_id": CZC, "service_id": CZS} for n, m in enumerate(CZ_BIBS)]
    return {"format": "p2e-sandbox-seed/1", "institution_suffix": SUFFIX, "bibs": bibs, "portfolios": portfolios,
            "po_lines": [{"number": "POL-9", "status": "ACTIVE", "mms_id": P2E}],
            "e_collections": [
                {"id": CZC, "name": "Academic Complete", "service_id": CZS},
                {"id": LOC, "name": "UIU Local P2E titles", "is_local": True,
                 "services": [{"id": LOC_S1}, {"id": LOC_S2, "type": "getSelectedFullTxt"}]}]}


def test_all_portfolios_of_a_service_are_read_100_at_a_time(alma, sb):
    sb.reset_requests()
    portfolios = list(alma.iter_service_portfolios(CZC, CZS))
    assert [p["resource_metadata"]["mms_id"]["value"] for p in portfolios] == CZ_BIBS
    calls = [(r["path"].rsplit("/", 1)[-1], r["query"]) for r in sb.requests]
    assert calls == [("portfolios", {"limit": "100", "offset": str(o)}) for o in (0, 100, 200)]


def test_one_page_and_its_total(alma):
    page, total = alma.service_portfolio_page(CZC, CZS, limit=5, offset=245)
    assert total == 250 and len(page) == 5
    assert alma.service_portfolio_page(CZC, CZS, limit=5, offset=250) == ([], 250)


def test_collections_are_listed_all_pages_and_found_by_name(alma, sb):
    assert {c["id"] for c in alma.list_collections()} == {CZC, LOC}
    assert [c["id"] for c in alma.list_collections(q="name~local p2e")] == [LOC]
    with pytest.raises(AlmaError) as refused:
        alma.list_collections(q="colour~blue")
    assert refused.value.code == "60106"


def test_a_collection_its_services_and_one_service_are_read(alma):
    assert alma.get_collection(CZC)["is_local"] is False
    assert [s["id"] for s in alma.list_services(LOC)] == [LOC_S1, LOC_S2]
    assert alma.get_service(LOC, LOC_S2)["type"]["value"] == "getSelectedFullTxt"
    with pytest.raises(AlmaError) as missing:
        alma.get_service(CZC, LOC_S2)
    assert missing.value.code == "60122" and missing.value.not_found
    assert alma.list_services(CZC)[0]["id"] == CZS


def test_creatable_fields_keeps_what_rest_portfolio_xsd_takes_on_post_only():
    p = {"id": "53", "is_local": True, "is_standalone": True, "link": "x",
         "resource_metadata": {"mms_id": {"value": P2E}, "title": "T"},
         "electronic_collection": {"id": {"value": ""}, "service": {"value": ""}},
         "availability": {"value": "11", "desc": "Available"}, "public_note": "n", "po_line": {"value": "POL-9"},
         "linking_details": {"url": "jkey=u", "static_url": "jkey=u", "static_url_override": ""}}
    out = creatable_fields(p)
    assert set(out) == {"availability", "public_note", "po_line", "linking_details"}
    assert out["linking_details"]["url"] == "jkey=u"


def test_a_portfolio_is_created_in_a_local_service_and_answers_its_new_id(alma, sb):
    standalone = alma.get_portfolio(P2E, P2E_PID)
    body = creatable_fields(standalone)
    body.pop("po_line")
    new = alma.create_service_portfolio(LOC, LOC_S1, P2E, body)
    assert new["id"] != P2E_PID and new["is_standalone"] is False
    assert new["electronic_collection"]["service"]["value"] == LOC_S1
    assert alma.get_portfolio(P2E, new["id"])["linking_details"]["url"] == standalone["linking_details"]["url"]
    assert [p["id"] for p in alma.iter_service_portfolios(LOC, LOC_S1)] == [new["id"]]


def test_a_community_zone_collection_refuses_the_portfolio_with_alma_s_error(alma):
    with pytest.raises(AlmaError) as refused:
        alma.create_service_portfolio(CZC, CZS, P2E, {})
    assert refused.value.code == "60162" and refused.value.tracking_id


def test_a_lost_answer_to_the_post_is_settled_by_reading_the_bib_not_by_posting_again(alma, sb):
    sb.set_options(drop_rate=1.0, fault_methods="POST")   # the POST takes effect, its answer is lost
    try:
        new = alma.create_service_portfolio(LOC, LOC_S2, P2E, {"public_note": "once"})
    finally:
        sb.set_options(drop_rate=0.0, fault_methods="")
    in_service = [p for p in alma.list_portfolios(P2E) if p["electronic_collection"]["service"]["value"] == LOC_S2]
    assert [p["id"] for p in in_service] == [new["id"]]
    posts = [r for r in sb.requests if r["method"] == "POST"]
    assert len(posts) == 1


def test_a_local_collection_and_service_are_created(alma):
    coll = alma.create_collection("UIU P2E group", description="P2E titles kept")
    assert coll["is_local"] is True
    service = alma.create_service(coll["id"])
    assert service["activation_status"]["value"] == "11" and service["type"]["value"] == "getFullTxt"
    assert [s["id"] for s in alma.list_services(coll["id"])] == [service["id"]]


def test_a_read_only_client_sends_none_of_the_writes(sb):
    ro = AlmaClient(sb.url, sb.readonly_key, rate_limit=None, read_only=True)
    sb.reset_requests()
    for write in (lambda: ro.create_collection("x"), lambda: ro.create_service(LOC),
                  lambda: ro.create_service_portfolio(LOC, LOC_S1, P2E, {})):
        with pytest.raises(WriteNotAllowed):
            write()
    assert sb.requests == []
    ro.close()


def test_bibs_in_batches_with_e_avail(alma, sb):
    sb.reset_requests()
    bibs = alma.get_bibs(CZ_BIBS[:150] + [P2E], expand="e_avail")
    assert len(bibs) == 151 and "tag=\"AVE\"" in bibs[CZ_BIBS[0]]["anies"][0]
    assert [r["query"].get("expand") for r in sb.requests] == ["e_avail", "e_avail"]
