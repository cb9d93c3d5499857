"""The watcher's pre-flight gate (p2e/watch/gate.py): a real watcher, the sandbox's read-only key, real SMTP.

While Alma refuses the key's writes no file starts: it waits in the inbox, the outbox's WAITING
note and the log say why, and the systems librarian gets one email for the episode. When the
key may write again, the file runs by itself.
"""
from __future__ import annotations

import logging
from pathlib import Path

from p2e.watch import Folders, watch
from tests.conftest import SYSTEMS, mail_settings, outbox, staff_files, wait_until
from tests.watch.conftest import watcher_thread


def writes(sb) -> list[dict]:
    """The calls that would change something in the sandbox (Alma's POST .../test changes nothing)."""
    return [r for r in sb.requests if r["method"] != "GET" and not r["path"].endswith("/test")]


def key_tests(sb) -> int:
    return sum(1 for r in sb.requests if r["method"] == "POST" and r["path"] == "/almaws/v1/bibs/test")


def test_a_read_only_key_holds_files_in_the_inbox_with_one_email_until_it_may_write(
        start_sandbox, settings_for, workbook_for, smtp_server, caplog):
    sb, library = start_sandbox(rows=6, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port, alma_api_key=sb.readonly_key)
    caplog.set_level(logging.INFO, logger="p2e.watch")
    dropped = workbook_for(library, "UIU P2E clean-up.xlsx")
    note = Path(settings.outbox_dir) / "UIU P2E clean-up - WAITING.txt"

    with watcher_thread(settings, settle_seconds=0.1, recheck_seconds=0.3):
        wait_until(note.is_file)
        wait_until(lambda: key_tests(sb) >= 4)  # the start-up check and at least three re-checks
        assert [n for n in staff_files(Folders.of(settings).inbox) if not n.startswith(".")] == [dropped.name]
        assert staff_files(Folders.of(settings).processing) == []
        assert writes(sb) == [] and outbox(settings, "results") == []
        text = note.read_text()
        assert "waiting in the inbox" in text and "UNAUTHORIZED" in text and "Alma Bibs (read/write)" in text
        assert caplog.text.count("Alma refuses this API key, so no file is started") == 1
        wait_until(lambda: smtp_server.messages)
        [message] = smtp_server.messages
        assert smtp_server.recipients == [[SYSTEMS]]
        assert message["Subject"] == "P2E clean-up: Every file in the inbox is waiting - Alma refused the API key"
        assert "Bibs" in message.get_content() and sb.readonly_key not in message.get_content()

        # The systems librarian gives the same key Read/write in Developer Network.
        sb.api_key, sb.readonly_key = sb.readonly_key, "no-longer-read-only"
        wait_until(lambda: outbox(settings, "results"))
        wait_until(lambda: len(smtp_server.messages) == 2)

    assert not note.exists()
    assert "Alma accepts this API key again" in caplog.text
    assert staff_files(Folders.of(settings).inbox) == []
    assert len(staff_files(Folders.of(settings).done)) == 1
    assert smtp_server.messages[1]["Subject"].startswith("P2E clean-up: UIU P2E clean-up.xlsx processed - ")
    assert len(smtp_server.messages) == 2  # the episode was told once, however many looks it lasted


def test_a_second_episode_is_told_again_and_a_restart_does_not_repeat_the_first(
        start_sandbox, settings_for, workbook_for, smtp_server):
    sb, library = start_sandbox(rows=2, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port, alma_api_key=sb.readonly_key)
    workbook_for(library, "first.xlsx")
    assert watch(settings, once=True, settle_seconds=0.1) == 0   # cron's --once: the file waits
    assert watch(settings, once=True, settle_seconds=0.1) == 0   # the next run: still waiting, no new email
    assert len(smtp_server.messages) == 1
    assert staff_files(Folders.of(settings).inbox) == ["first.xlsx"] and writes(sb) == []

    sb.api_key, sb.readonly_key = sb.readonly_key, "no-longer-read-only"
    assert watch(settings, once=True, settle_seconds=0.1) == 0
    assert outbox(settings, "results") and len(smtp_server.messages) == 2   # the results

    sb.readonly_key = sb.api_key  # read-only again: a new episode
    workbook_for(library, "second.xlsx")
    watch(settings, once=True, settle_seconds=0.1)
    assert staff_files(Folders.of(settings).inbox) == ["second.xlsx"]
    assert len(smtp_server.messages) == 3
    assert "is waiting - Alma refused the API key" in smtp_server.messages[2]["Subject"]


def test_an_alma_that_does_not_answer_at_start_does_not_hold_files(start_sandbox, settings_for, workbook_for):
    """No answer is an outage, not a refusal: the pipeline's own waiting handles it, not the gate."""
    sb, library = start_sandbox(rows=2, mix="delete-only")
    settings = settings_for(sb, poll_seconds=0.1, max_retries=1)
    workbook_for(library, "p2e.xlsx")
    sb.set_options(outage_seconds=3600, outage_mode="refuse")
    watch(settings, once=True, settle_seconds=0.1)
    assert staff_files(Folders.of(settings).inbox) == []
    assert staff_files(Folders.of(settings).processing) == ["p2e.xlsx"]


def test_the_check_runs_at_start_then_once_a_day_while_the_key_may_write(start_sandbox, settings_for):
    from datetime import datetime, timedelta

    from p2e.watch import Watcher

    sb, _ = start_sandbox(rows=2, mix="delete-only")
    watcher = Watcher(settings_for(sb, poll_seconds=0.1), recheck_seconds=0)
    gate = watcher.gate
    assert gate is not None and gate.allows() and key_tests(sb) == 1       # the first look runs the check
    assert gate.allows() and gate.allows() and key_tests(sb) == 1          # open: not again at every look
    [daily] = gate.daily.jobs
    assert (daily.interval, daily.unit) == (1, "days")
    daily.next_run = datetime.now() - timedelta(seconds=1)                 # a day has passed
    assert gate.allows() and key_tests(sb) == 2
    assert gate.allows() and key_tests(sb) == 2
    watcher.lock.release()


def _suggestion_requests(inbox: Path, rows) -> list[str]:
    """The three kinds of file the pipeline routes to the suggestion step (reads only)."""
    import openpyxl

    from tests.suggest.library import raw_report

    raw_report(inbox / "no Action column.xlsx", rows)
    raw_report(inbox / "Mode Suggest.xlsx", rows, mode="Suggest")
    empty = raw_report(inbox / "Actions all empty.xlsx", rows)
    wb = openpyxl.load_workbook(empty)
    wb["P2E"].cell(row=2, column=7, value="Action")
    wb.save(empty)
    return sorted(p.name for p in inbox.iterdir())


def test_a_read_only_key_lets_suggestion_requests_through_and_still_holds_a_file_with_actions(
        settings_for, workbook_for, smtp_server):
    from dataclasses import replace

    from p2e.sandbox import Sandbox, generate_library
    from tests.suggest.library import SUFFIX, build

    seed, rows = build()
    with Sandbox.start(seed=seed) as sb:
        settings = replace(mail_settings(settings_for, sb, smtp_server.port, alma_api_key=sb.readonly_key),
                           mms_id_suffix=SUFFIX)
        requests = _suggestion_requests(Path(settings.inbox_dir), rows)
        workbook_for(generate_library(2, random_seed=3, mix="delete-only"), "with actions.xlsx")

        assert watch(settings, once=True, settle_seconds=0.1) == 0

        assert writes(sb) == []
    folders = Folders.of(settings)
    assert staff_files(folders.inbox) == ["with actions.xlsx"]            # held: it would write
    note = (Path(settings.outbox_dir) / "with actions - WAITING.txt").read_text()
    assert "a request for suggestions still runs" in note
    assert sorted(name.split(" - processed ")[0] for name in staff_files(folders.done)) == \
        sorted(name.removesuffix(".xlsx") for name in requests)
    assert len(outbox(settings, "SUGGESTED")) == 3 and outbox(settings, "results") == []


def test_a_key_that_cannot_read_holds_suggestion_requests_too(settings_for, smtp_server):
    from p2e.sandbox import Sandbox
    from tests.suggest.library import build

    seed, rows = build()
    with Sandbox.start(seed=seed) as sb:
        settings = mail_settings(settings_for, sb, smtp_server.port, alma_api_key="l8xx-not-this-alma-s-key")
        requests = _suggestion_requests(Path(settings.inbox_dir), rows)
        assert watch(settings, once=True, settle_seconds=0.1) == 0
    assert staff_files(Folders.of(settings).inbox) == requests
    assert outbox(settings, "SUGGESTED") == []
