"""Consortium mode end to end: institutions/<CODE>/config.env each, one watcher for all, each its own sandbox.

Four institutions, each with its own Alma (a sandbox on loopback with its own key and its own
ID suffix), inbox, outbox, state and recipients, served by one ``watch_consortium``:
AAA and DDD are well; BBB's key is refused; CCC's inbox share is not there. The test asserts
isolation where it shows: what each sandbox received, each audit log, each log file, each email.
"""
from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from p2e.institutions import load_registry, setup_consortium_logging
from p2e.sandbox import Sandbox, generate_library, write_workbook
from p2e.watch import Folders, watch_consortium
from tests.conftest import outbox, results_rows, start_smtp, wait_until

SUFFIX = {"AAA": "11111111", "BBB": "22222222", "CCC": "33333333", "DDD": "44444444"}
ROWS = {"AAA": 5, "BBB": 3, "CCC": 3, "DDD": 4}


@pytest.fixture
def consortium(tmp_path):
    """(registry, sandboxes, libraries, mailbox) for AAA, BBB (bad key), CCC (no inbox), DDD (throttled)."""
    controller, mailbox = start_smtp()
    sandboxes, libraries = {}, {}
    (tmp_path / "config.env").write_text(
        f"SMTP_HOST=127.0.0.1\nSMTP_PORT={mailbox.port}\nSMTP_SECURITY=none\nMAIL_FROM=p2e@carli.example.org\n"
        "POLL_SECONDS=0.2\nWORKERS=2\nMAX_RETRIES=8\nHTTP_TIMEOUT=5\n")
    for code in SUFFIX:
        libraries[code] = generate_library(ROWS[code], mix="delete-only", suffix=SUFFIX[code])
        sb = Sandbox.start(seed=libraries[code].seed, rate_limit=3 if code == "DDD" else None)
        sb.api_key = f"l8xx-{code.lower()}-secret-key"  # each Alma knows its own institution's key only
        sandboxes[code] = sb
        folder = tmp_path / "institutions" / code
        folder.mkdir(parents=True)
        key = "l8xx-bbb-wrong-key" if code == "BBB" else sb.api_key
        inbox = "/nonexistent-share/CCC/inbox" if code == "CCC" else "inbox"
        (folder / "config.env").write_text(
            f"ALMA_BASE_URL={sb.url}\nALMA_API_KEY={key}\nMMS_ID_SUFFIX={SUFFIX[code]}\nINBOX_DIR={inbox}\n"
            f"MAIL_TO=systems@{code.lower()}.example.edu\n" + ("ALMA_RATE_LIMIT=3\n" if code == "DDD" else ""))
        if code != "CCC":
            (folder / "inbox").mkdir()
            write_workbook(libraries[code], folder / "inbox" / f"{code} P2E clean-up.xlsx")
    registry = load_registry(tmp_path / "config.env", environ={})
    assert registry is not None and registry.codes == list(SUFFIX)
    try:
        yield registry, sandboxes, libraries, mailbox
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_p2e", False)]:
            root.removeHandler(handler)
            handler.close()
        controller.stop()
        for sb in sandboxes.values():
            sb.stop()


@contextmanager
def serving(registry, **options):
    stop = threading.Event()
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault(
        "code", watch_consortium(registry.institutions, stop=stop, settle_seconds=0.1, **options)), daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()


def settings_of(registry, code):
    return registry.pick(code).settings


def test_one_watcher_serves_every_institution_each_in_its_own_alma_and_nothing_crosses(consortium):
    registry, sandboxes, libraries, mailbox = consortium
    setup_consortium_logging(registry, console=None)
    with serving(registry, recheck_seconds=0.3):
        for code in ("AAA", "DDD"):
            wait_until(lambda: outbox(settings_of(registry, code), "results"), timeout=60)
        wait_until(lambda: (Path(settings_of(registry, "BBB").outbox_dir) / "BBB P2E clean-up - WAITING.txt").is_file())
        wait_until(lambda: len(mailbox.messages) >= 3)

    # Each well institution's file ran against its own Alma only, and all of it was done.
    for code in ("AAA", "DDD"):
        settings = settings_of(registry, code)
        [results] = outbox(settings, "results")
        rows = results_rows(results)
        assert {r["Result"] for r in rows} == {"Done"} and len(rows) == ROWS[code]
        state = sandboxes[code].state()
        assert not any(r["portfolio_id"] in state["portfolios"] for r in libraries[code].rows)
        assert len(list(Folders.of(settings).done.iterdir())) == 1
    # No sandbox saw another institution's IDs, or a key it does not know.
    for code, sb in sandboxes.items():
        others = [s for c, s in SUFFIX.items() if c != code]
        assert not any(s in json.dumps(r) for r in sb.requests for s in others), code
    for code in ("AAA", "DDD"):
        assert not [r for r in sandboxes[code].requests if r.get("error_code") == "UNAUTHORIZED"]
    # BBB's refused key held its own file only: in its inbox, no write, a WAITING note.
    bbb = settings_of(registry, "BBB")
    assert [p.name for p in Path(bbb.inbox_dir).iterdir() if p.is_file() and not p.name.startswith(".")] \
        == ["BBB P2E clean-up.xlsx"]
    assert not [r for r in sandboxes["BBB"].requests if r["method"] != "GET" and not r["path"].endswith("/test")]
    # CCC's share is not there: its Alma was never called, and the others were not held up.
    assert sandboxes["CCC"].requests == []

    # Each audit log names its own institution's records only.
    for code in ("AAA", "DDD"):
        [audit] = (Path(settings_of(registry, code).outbox_dir) / "audit").glob("*.jsonl")
        text = audit.read_text()
        assert SUFFIX[code] in text and not any(SUFFIX[c] in text for c in SUFFIX if c != code)
    # Mail: each institution's messages to its own recipients only; one for BBB's key, none for CCC.
    by_recipient: dict[str, list[str]] = {}
    for rcpts, message in zip(mailbox.recipients, mailbox.messages):
        assert len(rcpts) == 1
        by_recipient.setdefault(rcpts[0], []).append(message["Subject"])
    assert sorted(by_recipient) == ["systems@aaa.example.edu", "systems@bbb.example.edu", "systems@ddd.example.edu"]
    assert by_recipient["systems@bbb.example.edu"] == [
        "P2E clean-up: Every file in the inbox is waiting - Alma refused the API key"]
    for code in ("AAA", "DDD"):
        [subject] = by_recipient[f"systems@{code.lower()}.example.edu"]
        assert subject.startswith(f"P2E clean-up: {code} P2E clean-up.xlsx processed - ")
    everything_mailed = "".join(m.as_string() for m in mailbox.messages)
    # Logs: each institution's log has its own lines only; no key appears in any log or email.
    keys = [sb.api_key for sb in sandboxes.values()] + ["l8xx-bbb-wrong-key"]
    logs = {code: (Path(settings_of(registry, code).state_dir) / "logs" / "p2e.log").read_text()
            for code in ("AAA", "BBB", "DDD")}
    shared = (registry.shared_state / "logs" / "consortium.log").read_text()
    for text in [*logs.values(), shared, everything_mailed]:
        assert not any(key in text for key in keys)
    assert "refuses this API key" in logs["BBB"] and "refuses this API key" not in logs["AAA"] + logs["DDD"]
    assert "AAA P2E clean-up.xlsx" in logs["AAA"] and "AAA P2E clean-up.xlsx" not in logs["BBB"] + logs["DDD"]
    assert "/nonexistent-share/CCC/inbox does not exist" in shared
    assert "/nonexistent-share" not in logs["AAA"] + logs["BBB"] + logs["DDD"]
    assert "[p2e-CCC]" in shared and "[p2e-AAA]" in shared


def test_an_institution_whose_share_breaks_is_started_again_and_the_others_carry_on(consortium, tmp_path, caplog):
    registry, sandboxes, libraries, mailbox = consortium
    caplog.set_level(logging.INFO, logger="p2e.watch")
    ccc = settings_of(registry, "CCC")
    share = tmp_path / "ccc-share"
    share.mkdir()
    (share / "processing").write_text("a file where the watcher's folder must be")  # the share cannot be used
    ccc.inbox_dir = share
    with serving(registry, restart_seconds=0.2):
        wait_until(lambda: outbox(settings_of(registry, "AAA"), "results"), timeout=60)
        assert outbox(ccc, "results") == []
        (share / "processing").unlink()        # the share is mended: CCC starts again by itself
        write_workbook(libraries["CCC"], share / "CCC P2E clean-up.xlsx")
        wait_until(lambda: outbox(ccc, "results"), timeout=60)
    assert {r["Result"] for r in results_rows(outbox(ccc, "results")[0])} == {"Done"}
    assert "CCC: the watcher stopped unexpectedly" in caplog.text
    assert "this one starts again in 0.2 seconds" in caplog.text


def test_once_handles_every_institution_and_returns_the_worst_exit_code(consortium):
    registry, sandboxes, libraries, mailbox = consortium
    code = watch_consortium(registry.institutions, once=True, settle_seconds=0.1)
    assert code == 2  # CCC's inbox is missing: a --once run says so with exit code 2, as for one library
    assert outbox(settings_of(registry, "AAA"), "results") and outbox(settings_of(registry, "DDD"), "results")


def test_processor_py_watch_serves_every_institution_and_institution_serves_one(consortium, tmp_path):
    """The service's own command line, as systemd runs it (p2e@.service: --institution CODE)."""
    import subprocess
    import sys

    from tests.conftest import clean_environment

    registry, sandboxes, libraries, mailbox = consortium
    project = Path(__file__).resolve().parents[2]
    command = [sys.executable, str(project / "processor.py"), "watch", "--once", "--config", str(tmp_path / "config.env")]
    one = subprocess.run(command + ["--institution", "AAA"], cwd=tmp_path, env=clean_environment(),
                         capture_output=True, text=True, timeout=120)
    assert one.returncode == 0, one.stderr          # --once notes the file; a second run takes it
    one = subprocess.run(command + ["--institution", "AAA"], cwd=tmp_path, env=clean_environment(),
                         capture_output=True, text=True, timeout=120)
    assert one.returncode == 0, one.stderr
    assert outbox(settings_of(registry, "AAA"), "results") and not outbox(settings_of(registry, "DDD"), "results")
    assert sandboxes["DDD"].requests == []
    for _ in range(2):
        every = subprocess.run(command, cwd=tmp_path, env=clean_environment(), capture_output=True, text=True,
                               timeout=180)
    assert every.returncode == 2                    # CCC's inbox is missing
    assert "[p2e-CCC]" in every.stderr and "Serving 4 institutions: AAA, BBB, CCC, DDD." in every.stderr
    assert outbox(settings_of(registry, "DDD"), "results")
    assert (registry.shared_state / "logs" / "consortium.log").is_file()
