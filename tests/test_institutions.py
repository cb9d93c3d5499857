"""The institution registry (p2e/institutions.py) and the settings' layers (p2e/config.py), with real files.

No institutions/ folder: one library, exactly as before. With one: each institutions/<CODE>/config.env
over the shared config.env and the environment; what belongs to one institution only comes from its
own file; no two institutions share a key or a folder. The command line's --institution CODE.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from p2e.cli import main, settings_from
from p2e.config import ConfigError
from p2e.institutions import load_registry


def write(path: Path, **values: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def institution(tmp_path: Path, code: str, **values: str) -> Path:
    values = {"ALMA_REGION": "na", "ALMA_API_KEY": f"l8xx-{code.lower()}", **values}
    return write(tmp_path / "institutions" / code / "config.env", **values)


def test_without_an_institutions_folder_it_is_one_library_as_before(tmp_path):
    shared = write(tmp_path / "config.env", ALMA_REGION="eu", ALMA_API_KEY="l8xx-one", INBOX_DIR="in")
    assert load_registry(shared, environ={}) is None
    settings = settings_from(str(shared))
    assert settings.alma_api_key == "l8xx-one" and settings.inbox_dir == tmp_path / "in"
    assert settings.institution is None


def test_each_institution_is_its_own_file_over_the_shared_defaults(tmp_path):
    shared = write(tmp_path / "config.env", SMTP_HOST="mail.carli.example.org", ALMA_RATE_LIMIT="20", WORKERS="6",
                   ALMA_DAILY_RESERVE="9000")
    institution(tmp_path, "UIU", ALMA_RATE_LIMIT="40", MMS_ID_SUFFIX="12205899", MAIL_TO="sys@uiu.example.edu")
    institution(tmp_path, "ISU", ALMA_BASE_URL="https://alma.isu.example.edu", INBOX_DIR="/srv/isu/inbox")
    registry = load_registry(shared, environ={"WORKERS": "3"})
    assert registry is not None and registry.codes == ["ISU", "UIU"]
    uiu, isu = registry.pick("uiu").settings, registry.pick("ISU").settings
    assert (uiu.rate_limit, isu.rate_limit) == (40, 20)             # its own file wins; else the shared default
    assert uiu.workers == isu.workers == 3                           # the environment is over the shared file
    assert uiu.smtp_host == isu.smtp_host == "mail.carli.example.org"
    assert uiu.daily_reserve == 9000 and uiu.mms_id_suffix == "12205899" and isu.mms_id_suffix is None
    assert uiu.mail_to == ["sys@uiu.example.edu"] and isu.mail_to == []
    assert isu.base_url == "https://alma.isu.example.edu"
    assert uiu.inbox_dir == tmp_path / "institutions" / "UIU" / "inbox"   # folders default inside its own folder
    assert uiu.state_dir == tmp_path / "institutions" / "UIU" / "state"
    assert isu.inbox_dir == Path("/srv/isu/inbox")
    assert (uiu.institution, isu.institution) == ("UIU", "ISU")
    assert registry.shared_state == tmp_path / "state"
    with pytest.raises(ConfigError, match="There is no institution XYZ .*there are: ISU, UIU"):
        registry.pick("XYZ")


@pytest.mark.parametrize("key", ["ALMA_API_KEY", "ALMA_BASE_URL", "INBOX_DIR", "MMS_ID_SUFFIX", "MAIL_TO"])
def test_what_belongs_to_one_institution_is_refused_in_the_shared_file(tmp_path, key):
    value = {"ALMA_BASE_URL": "https://x.example.org", "MMS_ID_SUFFIX": "1"}.get(key, "x")
    shared = write(tmp_path / "config.env", **{key: value})
    institution(tmp_path, "UIU")
    with pytest.raises(ConfigError, match=f"{key} is set in .*config.env.*its own institutions/<CODE>/config.env"):
        load_registry(shared, environ={})


def test_a_key_in_the_environment_is_refused_in_a_consortium(tmp_path):
    shared = write(tmp_path / "config.env", WORKERS="2")
    institution(tmp_path, "UIU")
    with pytest.raises(ConfigError, match="ALMA_API_KEY is set in .*or the environment"):
        load_registry(shared, environ={"ALMA_API_KEY": "l8xx-everyone"})


def test_two_institutions_may_not_share_a_key_or_a_folder(tmp_path):
    shared = write(tmp_path / "config.env")
    institution(tmp_path, "UIU", ALMA_API_KEY="l8xx-same")
    institution(tmp_path, "ISU", ALMA_API_KEY="l8xx-same")
    with pytest.raises(ConfigError, match="ISU and UIU have the same ALMA_API_KEY"):
        load_registry(shared, environ={})
    institution(tmp_path, "ISU", OUTBOX_DIR=str(tmp_path / "institutions" / "UIU" / "inbox" / "results"))
    with pytest.raises(ConfigError, match="OUTBOX_DIR of ISU .* and INBOX_DIR of UIU .* overlap"):
        load_registry(shared, environ={})


def test_institutions_dir_setting_empty_folder_and_bad_names(tmp_path):
    shared = write(tmp_path / "config.env", INSTITUTIONS_DIR="libraries")
    with pytest.raises(ConfigError, match="INSTITUTIONS_DIR in .* is libraries, but there is no folder"):
        load_registry(shared, environ={})
    (tmp_path / "libraries").mkdir()
    with pytest.raises(ConfigError, match="holds no <CODE>/config.env"):
        load_registry(shared, environ={})
    write(tmp_path / "libraries" / "UIU" / "config.env", ALMA_REGION="na", ALMA_API_KEY="l8xx-u")
    assert load_registry(shared, environ={}).codes == ["UIU"]
    write(tmp_path / "libraries" / "bad name" / "config.env", ALMA_REGION="na", ALMA_API_KEY="l8xx-b")
    with pytest.raises(ConfigError, match="must be named with letters, digits and _ only"):
        load_registry(shared, environ={})


def test_an_institutions_own_mistake_names_its_own_file(tmp_path):
    shared = write(tmp_path / "config.env")
    own = institution(tmp_path, "UIU", ALMA_RATE_LIMIT="fast")
    with pytest.raises(ConfigError, match=f"ALMA_RATE_LIMIT in {own} \\(over "):
        load_registry(shared, environ={})


# -- the command line ------------------------------------------------------------------------------
def test_institution_on_the_command_line(tmp_path, capsys, monkeypatch):
    for name in ("ALMA_API_KEY", "ALMA_REGION", "ALMA_BASE_URL", "INBOX_DIR", "MAIL_TO"):
        monkeypatch.delenv(name, raising=False)
    single = write(tmp_path / "single" / "config.env", ALMA_REGION="na", ALMA_API_KEY="l8xx-one")
    staff = tmp_path / "p2e.csv"
    staff.write_text("MMS ID,Portfolio ID,Action\n")
    assert main(["validate", "--config", str(single), "--institution", "UIU", str(staff)]) == 2
    assert "--institution UIU was given, but there is no institutions folder" in capsys.readouterr().err

    shared = write(tmp_path / "config.env")
    institution(tmp_path, "UIU")
    institution(tmp_path, "ISU")
    assert main(["run", "--config", str(shared), str(staff)]) == 2
    assert "say which institution with --institution CODE" in capsys.readouterr().err
    assert main(["restore", "--config", str(shared), "--institution", "XYZ", str(staff)]) == 2
    assert "There is no institution XYZ" in capsys.readouterr().err
    assert main(["suggest", "--config", str(shared), "--institution", "XYZ", str(staff)]) == 2
    assert "There is no institution XYZ" in capsys.readouterr().err
    assert settings_from(str(shared), "isu").alma_api_key == "l8xx-isu"
    main(["validate", "--config", str(shared), "--institution", "UIU", str(staff)])
    assert "say which institution" not in capsys.readouterr().err


def test_check_in_a_consortium_checks_every_institution(tmp_path, start_sandbox, capsys):
    sb_u, _ = start_sandbox(rows=2)
    sb_i, _ = start_sandbox(rows=2)
    sb_i.api_key = "l8xx-isu-own-key"
    shared = write(tmp_path / "config.env")
    institution(tmp_path, "UIU", ALMA_BASE_URL=sb_u.url, ALMA_API_KEY=sb_u.api_key)
    institution(tmp_path, "ISU", ALMA_BASE_URL=sb_i.url, ALMA_API_KEY=sb_i.readonly_key)
    for code in ("UIU", "ISU"):
        for folder in ("inbox", "outbox", "state"):
            (tmp_path / "institutions" / code / folder).mkdir()
    assert main(["check", "--config", str(shared)]) == 1          # ISU's key is read-only
    out = capsys.readouterr().out
    assert "Institution ISU" in out and "Institution UIU" in out
    assert out.count("Ready: a run would work.") == 1 and out.count("Not ready") == 1
    assert main(["check", "--config", str(shared), "--institution", "UIU"]) == 0
    out = capsys.readouterr().out
    assert "Institution UIU" not in out and "Institution ISU" not in out and sb_u.url in out and sb_i.url not in out
    assert not [r for r in sb_i.requests if r.get("error_code") == "UNAUTHORIZED" and r["method"] == "GET"]
