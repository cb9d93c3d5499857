"""Normal forms of identifiers (p2e/suggest/identifiers.py) and what a MARC record yields (marc.py)."""
from __future__ import annotations

import pytest

from p2e.suggest import identifiers as ident
from p2e.suggest import marc


@pytest.mark.parametrize("text, expected", [
    ("9781421400839", "9781421400839"),
    ("978-1-4214-0083-9", "9781421400839"),
    ("1421400839", "9781421400839"),             # ISBN-10 -> ISBN-13
    ("1-4214-0083-9 (pbk. : alk. paper)", "9781421400839"),
    ("0-8018-9489-1 (pbk.)", "9780801894893"),
    ("080189489X", None),                        # wrong check digit
    ("9781421400838", None),                     # wrong check digit
    ("(electronic bk.)", None),
    ("", None),
    (None, None),
])
def test_isbn13(text, expected):
    assert ident.isbn13(text) == expected


def test_isbns_in_one_cell():
    assert ident.isbns("1421400839; 0-8018-9489-1 (pbk.)") == {"9781421400839", "9780801894893"}


@pytest.mark.parametrize("text, expected", [
    ("0028-0836", "0028-0836"), ("00280836", "0028-0836"), ("ISSN 1234-5679", "1234-5679"),
    ("0028-0837", None), ("0000-006X", "0000-006X"), ("0000-006x", "0000-006X"), ("2049-363X", None), ("", None),
])
def test_issn_check_digit(text, expected):
    assert ident.issn(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("(OCoLC)ocm00012345", "12345"), ("ocn190789234", "190789234"), ("on1234567890", "1234567890"),
    ("(OCoLC)190789234", "190789234"), ("190789234", "190789234"), ("(UIUdb)5539966", None), ("abc", None),
])
def test_oclc_prefixes(text, expected):
    assert ident.oclc(text) == expected


def test_only_an_oclc_035_is_an_oclc_number():
    assert ident.oclc_from_035("(OCoLC)ocn190789234") == "190789234"
    assert ident.oclc_from_035("5539966") is None
    assert ident.oclc_from_035("(EXLCZ)995000000010101") is None


def test_link_behind_a_proxy_matches_the_plain_address():
    proxied = "http://proxy2.library.illinois.edu/login?url=https://www.jstor.org/stable/10.2307/j.ctt1"
    assert ident.link(proxied) == ident.link("https://jstor.org/stable/10.2307/j.ctt1/") == "jstor.org/stable/10.2307/j.ctt1"
    assert ident.link("not a url") is None


def test_doi_from_url_and_024():
    assert ident.doi("https://doi.org/10.1007/978-1-4614-1234-5") == "10.1007/978-1-4614-1234-5"
    record = marc.parse('<record><datafield tag="024" ind1="7" ind2=" "><subfield code="a">10.1000/XYZ</subfield>'
                        '<subfield code="2">doi</subfield></datafield></record>')
    assert marc.identifiers(record).links == {"10.1000/xyz"}


def test_title_key():
    assert ident.title_key("The Hidden history of jazz : a study /") == "hidden history of jazz a study"
    assert ident.title_key("Économie politique") == "economie politique"


def test_marc_identifiers_of_a_full_record():
    xml = ('<?xml version="1.0" encoding="UTF-16"?><record xmlns="http://www.loc.gov/MARC21/slim">'
           '<controlfield tag="001">99123</controlfield>'
           '<datafield tag="020" ind1=" " ind2=" "><subfield code="a">1421400839</subfield></datafield>'
           '<datafield tag="020" ind1=" " ind2=" "><subfield code="z">9780801894893</subfield></datafield>'
           '<datafield tag="022" ind1=" " ind2=" "><subfield code="a">0028-0836</subfield></datafield>'
           '<datafield tag="035" ind1=" " ind2=" "><subfield code="a">(UIUdb)5539966</subfield></datafield>'
           '<datafield tag="035" ind1=" " ind2=" "><subfield code="a">(OCoLC)ocn190789234</subfield></datafield>'
           '<datafield tag="245" ind1="0" ind2="0"><subfield code="a">Quiet rivers :</subfield>'
           '<subfield code="b">a history.</subfield></datafield>'
           '<datafield tag="856" ind1="4" ind2="0"><subfield code="u">http://proxy.example.edu/login?url=https://muse.jhu.edu/book/12</subfield></datafield>'
           '<datafield tag="AVE" ind1=" " ind2=" "><subfield code="8">531</subfield><subfield code="c">61</subfield>'
           '<subfield code="e">Available</subfield><subfield code="m">Project MUSE</subfield></datafield>'
           '</record>')
    record = marc.parse(xml)
    ids = marc.identifiers(record)
    assert ids.isbns == {"9781421400839"}          # 020 $z (cancelled) is not used
    assert ids.issns == {"0028-0836"}
    assert ids.oclc == {"190789234"}
    assert ids.links == {"muse.jhu.edu/book/12"}
    assert ids.title == "quiet rivers a history"
    assert marc.electronic(record) == [marc.Ave("531", "61", "Project MUSE", "Available")]
    assert marc.electronic(record)[0].available
    assert not marc.has_physical(record)
    assert marc.parse("not xml") is None
