"""The SRU client against the sandbox: typed records, paging, diagnostics, and plain errors when SRU is off or failing."""
from __future__ import annotations

import pytest

from p2e.alma.errors import AlmaError, DailyThresholdReached
from p2e.alma.sru import SruClient, SruQueryError, SruUnavailable, cql_any, default_sru_address

SUFFIX = "12205899"
COLL, SERV = "6110000012205899", "6210000012205899"
P2E, CZ, CZ_PID = "99553996612205899", "99100000000112205899", "53100000212205899"
MANY = [f"99200000{n:04d}{SUFFIX}" for n in range(120)]


def make_seed() -> dict:
    bibs = [{"mms_id": P2E, "title": "Aliens & anorexia", "isbns": ["9781584351269"],
             "network_numbers": ["(OCoLC)ocn190789234"]},
            {"mms_id": CZ, "title": "Aliens & anorexia", "isbns": ["9781584351269"],
             "linked_record_id": {"value": "9912345670001111", "type": "CZ"}}]
    bibs += [{"mms_id": m, "title": f"Many rivers {n}", "isbns": [f"97800000{n:05d}"]} for n, m in enumerate(MANY)]
    portfolios = [{"id": "53100000112205899", "mms_id": P2E},
                  {"id": CZ_PID, "mms_id": CZ, "is_local": False, "is_standalone": False, "collection_id": COLL,
                   "service_id": SERV, "availability": "10"}]
    return {"format": "p2e-sandbox-seed/1", "institution_suffix": SUFFIX, "bibs": bibs, "portfolios": portfolios,
            "e_collections": [{"id": COLL, "name": "Academic Complete", "service_id": SERV}]}


@pytest.fixture
def sru(sb, alma):
    return SruClient(sb.sru_url, alma)


def test_cql_any_or_s_quoted_values_of_one_index():
    assert cql_any("alma.isbn", ["9781584351269", '12"3']) == 'alma.isbn="9781584351269" or alma.isbn="12\\"3"'
    with pytest.raises(ValueError):
        cql_any("alma.isbn", [])


def test_the_default_address_is_the_host_with_view_sru_and_the_institution_code():
    assert default_sru_address("https://na01.alma.exlibrisgroup.com/", "01CARLI_UIU") == \
        "https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU"


def test_a_search_answers_typed_records_with_identifiers_and_availability(sru, sb):
    result = sru.search(cql_any("alma.isbn", ["9781584351269"]))
    assert result.total == 2 and [r.mms_id for r in result.records] == [P2E, CZ]
    cz = result.records[1]
    assert cz.subfields("020", "a") == ["9781584351269"]
    assert [(a.portfolio_id, a.collection_id, a.collection_name, a.status) for a in cz.availability] == \
        [(CZ_PID, COLL, "Academic Complete", "Not Available")]
    assert result.records[0].subfields("035", "a") == ["(OCoLC)ocn190789234"]
    assert all(r["apikey_sent"] is False for r in sb.requests)


def test_search_all_follows_next_record_position(sru, sb):
    sb.reset_requests()
    records = sru.search_all('alma.title all "many rivers"')
    assert [r.mms_id for r in records] == MANY
    starts = [r["query"]["startRecord"] for r in sb.requests]
    assert starts == ["1", "51", "101"]
    assert all(r["query"]["maximumRecords"] == "50" for r in sb.requests)


def test_sru_calls_wait_at_the_client_s_limiter_and_are_counted_with_its_calls(sru, alma):
    waited = []
    original = alma.limiter.acquire
    alma.limiter.acquire = lambda: (waited.append(1), original())[1]
    before = alma.stats.calls
    sru.search("alma.isbn=9781584351269")
    assert waited == [1] and alma.stats.calls == before + 1 and sru.calls == 1


def test_a_bad_query_raises_a_typed_error_with_the_diagnostic(sru, sb):
    sb.off_contract = True
    with pytest.raises(SruQueryError) as bad:
        sru.search("alma.colour=blue")
    assert "Unsupported index" in str(bad.value) and "alma.colour" in str(bad.value)
    assert isinstance(bad.value, AlmaError)


def test_sru_switched_off_says_so_plainly(sru, sb):
    sb.set_options(sru_enabled=False)
    with pytest.raises(SruUnavailable) as off:
        sru.search("alma.isbn=9781584351269")
    text = str(off.value)
    assert "SRU" in text and sb.sru_url in text and "403" in text


def test_sru_failing_is_retried_then_raised_plainly(sru, sb):
    sb.set_options(error_rate=1.0)
    with pytest.raises(SruUnavailable) as failing:
        sru.search("alma.isbn=9781584351269")
    assert "SRU" in str(failing.value)
    assert len([r for r in sb.requests if r["path"].startswith("/view/sru/")]) == 3  # 1 + max_retries


def test_sru_not_reachable_is_unavailable(alma):
    sru = SruClient("http://127.0.0.1:9/view/sru/01CARLI_SANDBOX", alma)
    with pytest.raises(SruUnavailable) as down:
        sru.search("alma.isbn=1")
    assert "could not connect" in str(down.value)


def test_the_daily_allowance_stops_sru_like_rest(sru, sb):
    sb.set_options(daily_limit=0)
    with pytest.raises(DailyThresholdReached):
        sru.search("alma.isbn=9781584351269")


def test_explain_lists_the_indexes(sru):
    assert "alma.isbn" in sru.explain_indexes()
