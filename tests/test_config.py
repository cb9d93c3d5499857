"""Settings: config.env, the environment on top, and one clear message per bad setting."""
from __future__ import annotations

from pathlib import Path

import pytest

from p2e.config import ConfigError, load_settings
from p2e.model import BibHandling

PROJECT = Path(__file__).resolve().parent.parent


def test_the_example_file_loads_as_it_is():
    s = load_settings(PROJECT / "config.env.example", environ={})
    assert s.base_url == "https://api-na.hosted.exlibrisgroup.com"
    assert s.rate_limit == "auto" and s.rate_max == 50 and s.daily_reserve == 5000 and s.bib_handling is BibHandling.DELETE
    assert s.inbox_dir == PROJECT / "inbox" and s.outbox_dir == PROJECT / "outbox"


def test_environment_wins_over_the_file_and_base_url_wins_over_region(tmp_path):
    config = tmp_path / "config.env"
    config.write_text("ALMA_API_KEY=from-file\nALMA_REGION=eu\nALMA_RATE_LIMIT=10\nINBOX_DIR=drop\n")
    s = load_settings(config, environ={"ALMA_RATE_LIMIT": "5", "ALMA_BASE_URL": "http://127.0.0.1:8990/almaws/v1/"})
    assert s.alma_api_key == "from-file" and s.rate_limit == 5
    assert s.base_url == "http://127.0.0.1:8990"
    assert s.inbox_dir == tmp_path / "drop"


@pytest.mark.parametrize("line, message", [
    ("ALMA_RATE_LIMIT=fast", "ALMA_RATE_LIMIT in {f} (or the environment) must be a number of calls per second, such as 25, or auto; it is 'fast'."),
    ("ALMA_RATE_LIMIT=0", "ALMA_RATE_LIMIT in {f} (or the environment) must be more than 0; it is '0'."),
    ("BIB_HANDLING=remove", "BIB_HANDLING in {f} (or the environment) must be delete, suppress or keep; it is 'remove'."),
    ("ACTIVE_POL_POLICY=maybe", "ACTIVE_POL_POLICY in {f} (or the environment) must be skip or delete; it is 'maybe'."),
    ("ALMA_BASE_URL=api.example.org", "ALMA_BASE_URL in {f} (or the environment) must start with https:// (or http:// for a local test server); it is 'api.example.org'."),
    ("MMS_ID_SUFFIX=12-205899", "MMS_ID_SUFFIX in {f} (or the environment) must be digits only (for example 12205899); it is '12-205899'."),
    ("OTHER_SYSTEM_ID_PATTERN=(UIUdb)", "OTHER_SYSTEM_ID_PATTERN in {f} (or the environment) must contain {{bib_id}}, for example (UIUdb){{bib_id}}; it is '(UIUdb)'."),
    ("ALMA_INSTITUTION_CODE=01CARLI UIU", "ALMA_INSTITUTION_CODE in {f} (or the environment) must be letters, digits and _ only (for example 01CARLI_UIU); it is '01CARLI UIU'."),
    ("SRU_BASE_URL=na01.alma.exlibrisgroup.com/view/sru/X", "SRU_BASE_URL in {f} (or the environment) must start with https:// (for example https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU); it is 'na01.alma.exlibrisgroup.com/view/sru/X'."),
    ("CREATE_COLLECTIONS=maybe", "CREATE_COLLECTIONS in {f} (or the environment) must be yes or no; it is 'maybe'."),
    ("SMTP_SECURITY=tls", "SMTP_SECURITY in {f} (or the environment) must be starttls, ssl or none; it is 'tls'."),
    ("WORKERS=two", "WORKERS in {f} (or the environment) must be a whole number of rows worked on at once, such as 4; it is 'two'."),
])
def test_each_bad_setting_gets_one_message_naming_it_and_the_file(tmp_path, line, message):
    config = tmp_path / "config.env"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config, environ={})
    assert str(exc.value) == message.format(f=config)


def test_a_missing_config_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="Copy config.env.example to"):
        load_settings(tmp_path / "nope.env", environ={})


def test_the_key_is_required_to_call_alma_and_never_shown(tmp_path):
    s = load_settings(None, environ={"ALMA_REGION": "na"})
    with pytest.raises(ConfigError, match="ALMA_API_KEY is not set in the environment"):
        s.require_alma()
    s = load_settings(None, environ={"ALMA_API_KEY": "l8xx-very-secret", "SMTP_PASSWORD": "pw-secret"})
    with pytest.raises(ConfigError, match="Neither ALMA_REGION nor ALMA_BASE_URL is set"):
        s.require_alma()
    assert "l8xx-very-secret" not in repr(s) and "pw-secret" not in repr(s)
    assert s.secrets() == ["l8xx-very-secret", "pw-secret"]


def test_institution_code_sru_address_and_create_collections_are_read(tmp_path):
    config = tmp_path / "config.env"
    config.write_text("ALMA_INSTITUTION_CODE=01CARLI_UIU\nSRU_BASE_URL=https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU/\n"
                      "CREATE_COLLECTIONS=Yes\n")
    s = load_settings(config, environ={})
    assert s.institution_code == "01CARLI_UIU"
    assert s.sru_base_url == "https://na01.alma.exlibrisgroup.com/view/sru/01CARLI_UIU"
    assert s.create_collections is True
    assert load_settings(None, environ={}).create_collections is False
