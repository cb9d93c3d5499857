"""``processor.py check``: real HTTP to the sandbox, real SMTP to the loopback server, real folders."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from p2e.check import all_ok, run_checks
from p2e.cli import main
from p2e.watch.lock import WatcherLock
from tests.conftest import SYSTEMS, free_port, start_smtp, write_config


def check(tmp_path, sb, capsys, *options: str, **config: str):
    """Run ``processor.py check`` on a config.env for the sandbox; (exit code, {check: line})."""
    path = write_config(tmp_path, sb, **config)
    code = main(["check", "--config", str(path), *options])
    out = capsys.readouterr().out
    lines = {line.split("  ")[0]: line for line in out.splitlines()[1:] if "  " in line}
    return code, lines, out


def problems(lines: dict) -> list[str]:
    return sorted(what for what, line in lines.items() if "  PROBLEM  " in line)


def mail_config(port: int) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
            "MAIL_FROM": "p2e@library.example.edu", "MAIL_TO": SYSTEMS}


def test_all_ok_exits_0_sends_no_mail_and_writes_nothing_but_the_test_posts(tmp_path, start_sandbox, capsys, smtp_server):
    sb, _ = start_sandbox(rows=4)
    sb.reset_requests()
    before = sb.state()
    code, lines, out = check(tmp_path, sb, capsys, **mail_config(smtp_server.port))
    assert code == 0, out
    assert problems(lines) == []
    assert "Ready: a run would work." in out
    assert "answered in" in lines["Alma address"]
    assert "institution 01CARLI_SANDBOX" in lines["API key"]
    for what in ("Alma Bibs (read/write)", "Alma Acquisitions (read/write)", "Alma Electronic resources (read)",
                 "Daily API allowance", "Mail server", "Inbox folder", "Outbox folder", "State folder", "Watcher lock"):
        assert "  OK  " in lines[what], out
    assert "relink" in lines["Daily API allowance"] and "no message sent" in lines["Mail server"]
    assert smtp_server.messages == []
    writes = sorted({(r["method"], r["path"]) for r in sb.requests if r["method"] != "GET"})
    assert writes == [("POST", "/almaws/v1/acq/test"), ("POST", "/almaws/v1/bibs/test")]
    assert sb.state() == before
    assert sb.api_key not in out
    assert sorted(os.listdir(tmp_path / "inbox")) == [] and sorted(os.listdir(tmp_path / "state")) == []


def test_send_test_mail_sends_one_message(tmp_path, start_sandbox, capsys, smtp_server):
    sb, _ = start_sandbox(rows=2)
    code, lines, out = check(tmp_path, sb, capsys, "--send-test-mail", **mail_config(smtp_server.port))
    assert code == 0, out
    assert len(smtp_server.messages) == 1 and smtp_server.recipients == [[SYSTEMS]]
    assert "test message" in lines["Mail server"]


def test_wrong_key(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_API_KEY="l8xx-not-a-key")
    assert code == 1
    assert problems(lines) == ["API key"]
    assert "refuses this key" in lines["API key"] and "Developer Network" in lines["API key"]
    assert "l8xx-not-a-key" not in out


def test_read_only_key_cannot_write_but_will_do_for_preview(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_API_KEY=sb.readonly_key)
    assert code == 1
    assert problems(lines) == ["Alma Acquisitions (read/write)", "Alma Bibs (read/write)"]
    assert "POST /almaws/v1/bibs/test refused: UNAUTHORIZED" in lines["Alma Bibs (read/write)"]
    assert "give this API key Bibs Read/write" in lines["Alma Bibs (read/write)"]
    sb.reset_requests()
    code, lines, out = check(tmp_path, sb, capsys, "--preview-only", ALMA_API_KEY=sb.readonly_key)
    assert code == 0, out
    assert "Alma Bibs (read)" in lines and "Ready for preview runs" in out
    assert [r for r in sb.requests if r["method"] != "GET"] == []


def test_an_area_without_permission_names_the_permission_to_add(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_API_KEY=sb.no_acq_key)
    assert code == 1
    assert problems(lines) == ["Alma Acquisitions (read/write)"]
    line = lines["Alma Acquisitions (read/write)"]
    assert "GET /almaws/v1/acq/test refused: UNAUTHORIZED" in line
    assert "in Developer Network, give this API key Acquisitions Read/write" in line


def test_unreachable_address(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_BASE_URL=f"http://127.0.0.1:{free_port()}")
    assert code == 1
    assert problems(lines) == ["Alma address"]
    assert "no answer from http://127.0.0.1:" in lines["Alma address"] and "ALMA_BASE_URL" in lines["Alma address"]
    assert "API key" not in lines


def test_allowance_below_the_reserve(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    sb.set_options(daily_limit=4000)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_DAILY_RESERVE="5000")
    assert code == 1
    assert problems(lines) == ["Daily API allowance"]
    assert "kept for other systems (ALMA_DAILY_RESERVE): no rows can run today" in lines["Daily API allowance"]
    code, lines, out = check(tmp_path, sb, capsys, ALMA_DAILY_RESERVE="1000")
    assert code == 0, out
    assert "3,990 calls left today, 1,000 kept for other systems (ALMA_DAILY_RESERVE): about 332 relink or 747 delete rows" \
        in lines["Daily API allowance"]  # 5 calls per check; (3,990 - 1,000) // 9 and // 4


def test_smtp_down(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    code, lines, out = check(tmp_path, sb, capsys, **mail_config(free_port()))
    assert code == 1
    assert problems(lines) == ["Mail server"]
    assert "could not reach the mail server 127.0.0.1:" in lines["Mail server"]
    assert "check SMTP_HOST" in lines["Mail server"]


def test_smtp_up_again_after_it_was_down(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    port = free_port()
    assert check(tmp_path, sb, capsys, **mail_config(port))[0] == 1
    controller, mailbox = start_smtp(port)
    try:
        assert check(tmp_path, sb, capsys, **mail_config(port))[0] == 0
    finally:
        controller.stop()
    assert mailbox.messages == []


def _make_unwritable(folder):
    """chmod for an ordinary user; for root (which ignores modes) the immutable attribute, where it works."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return lambda: folder.chmod(0o700)
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("running as root where folders cannot be made unwritable")
    return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_unwritable_and_missing_folders(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=2)
    write_config(tmp_path, sb)
    undo = _make_unwritable(tmp_path / "outbox")
    try:
        code, lines, out = check(tmp_path, sb, capsys, STATE_DIR=str(tmp_path / "nowhere"))
    finally:
        undo()
    assert code == 1
    assert problems(lines) == ["Outbox folder", "State folder"]
    assert "cannot write in" in lines["Outbox folder"] and "write access" in lines["Outbox folder"]
    assert "does not exist" in lines["State folder"]
    assert os.listdir(tmp_path / "outbox") == []


def test_the_lock_holder_is_named(tmp_path, start_sandbox, settings_for):
    sb, _ = start_sandbox(rows=2)
    settings = settings_for(sb)
    lock = WatcherLock(settings.inbox_dir)
    assert lock.acquire()
    try:
        checks = {c.what: c for c in run_checks(settings)}
    finally:
        lock.release()
    assert checks["Watcher lock"].ok and f"process {os.getpid()}" in checks["Watcher lock"].seen
    assert all_ok(list(checks.values()))
    checks = {c.what: c for c in run_checks(settings)}
    assert checks["Watcher lock"].seen == "free: no watcher is running on this inbox"


# -- the institution and the MMS ID suffix (issue 13) -----------------------------------------------
def test_institution_code_and_suffix_that_match_this_alma(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=4)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_INSTITUTION_CODE="01CARLI_SANDBOX", MMS_ID_SUFFIX="12205899")
    assert code == 0, out
    assert problems(lines) == []
    assert "Alma reports 01CARLI_SANDBOX, as ALMA_INSTITUTION_CODE says" in lines["Institution"]
    assert "MMS_ID_SUFFIX=12205899 ends in 5899, this institution's number; e-collection 61100000" in lines["MMS ID suffix"]


def test_institution_code_of_another_institution(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=4)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_INSTITUTION_CODE="01CARLI_UIU")
    assert code == 1
    assert problems(lines) == ["Institution"]
    line = lines["Institution"]
    assert "this API key is 01CARLI_SANDBOX's, but ALMA_INSTITUTION_CODE is 01CARLI_UIU" in line
    assert "use an API key of 01CARLI_UIU's Alma" in line and "set ALMA_INSTITUTION_CODE=01CARLI_SANDBOX" in line
    assert "MMS ID suffix" not in lines  # MMS_ID_SUFFIX is not set


def test_institution_code_not_set_is_shown_to_be_set(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=4)
    code, lines, out = check(tmp_path, sb, capsys)
    assert code == 0, out
    assert "ALMA_INSTITUTION_CODE is not set" in lines["Institution"]
    assert "set ALMA_INSTITUTION_CODE=01CARLI_SANDBOX" in lines["Institution"]


def test_a_suffix_of_another_institution_says_which_number_it_must_end_in(tmp_path, start_sandbox, capsys):
    sb, _ = start_sandbox(rows=4)  # this Alma's IDs end in 12205899 (UIU's)
    code, lines, out = check(tmp_path, sb, capsys, ALMA_INSTITUTION_CODE="01CARLI_SANDBOX", MMS_ID_SUFFIX="8805867")
    assert code == 1
    assert problems(lines) == ["MMS ID suffix"]
    line = lines["MMS ID suffix"]
    assert "MMS_ID_SUFFIX=8805867, but this institution's IDs end in 5899 (e-collection 61100000" in line
    assert "set MMS_ID_SUFFIX to the digits that follow 99 and the Voyager BIB_ID" in line and "it ends in 5899" in line


def test_the_suffix_is_compared_with_the_ids_alma_really_has(tmp_path, capsys):
    from p2e.sandbox import Sandbox, generate_library

    nby = generate_library(4, suffix="8805867")  # a library whose IDs end in 8805867 (Newberry's)
    with Sandbox.start(seed=nby.seed) as sb:
        code, lines, out = check(tmp_path, sb, capsys, MMS_ID_SUFFIX="8805867")
        assert code == 0, out
        assert "ends in 5867, this institution's number" in lines["MMS ID suffix"]
        code, lines, out = check(tmp_path, sb, capsys, MMS_ID_SUFFIX="12205899")
        assert code == 1 and problems(lines) == ["MMS ID suffix"]
        assert "this institution's IDs end in 5867" in lines["MMS ID suffix"]
