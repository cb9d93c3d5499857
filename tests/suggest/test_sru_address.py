"""SRU_BASE_URL: set, or worked out from the Alma address and ALMA_INSTITUTION_CODE."""
from __future__ import annotations

from p2e.config import load_settings


def test_sru_address_derived_from_the_base_url_and_institution_code():
    s = load_settings(None, environ={"ALMA_BASE_URL": "http://127.0.0.1:8990", "ALMA_INSTITUTION_CODE": "01CARLI_UIU"})
    assert (s.sru_base_url, s.sru_derived) == ("http://127.0.0.1:8990/view/sru/01CARLI_UIU", True)


def test_sru_address_derived_from_the_region():
    s = load_settings(None, environ={"ALMA_REGION": "na", "ALMA_INSTITUTION_CODE": "01CARLI_UIU"})
    assert s.sru_base_url == "https://api-na.hosted.exlibrisgroup.com/view/sru/01CARLI_UIU"


def test_sru_address_set_wins_and_none_without_the_code():
    s = load_settings(None, environ={"ALMA_REGION": "na", "ALMA_INSTITUTION_CODE": "01CARLI_UIU",
                                     "SRU_BASE_URL": "https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU"})
    assert (s.sru_base_url, s.sru_derived) == ("https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU", False)
    assert load_settings(None, environ={"ALMA_REGION": "na"}).sru_base_url is None
