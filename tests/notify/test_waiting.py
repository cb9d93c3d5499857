"""A file waiting for Alma is told about once per episode (p2e/notify/waiting.py), through the watcher and `run`."""
from __future__ import annotations

import logging
from pathlib import Path

from p2e.cli import main
from p2e.watch import Folders, watch
from tests.conftest import (SYSTEMS, free_port, mail_settings, make_due, outbox, results_rows, staff_files,
                            write_config)


def test_the_watcher_keeps_a_file_alma_refuses_the_key_for_emails_once_and_runs_it_when_the_key_is_right(
        start_sandbox, settings_for, workbook_for, smtp_server):
    sb, library = start_sandbox(rows=5, mix="delete-only")
    settings = mail_settings(settings_for, sb, smtp_server.port, alma_api_key="l8xx-wrong", max_retries=1)
    workbook_for(library)
    # preflight=False: the key is refused mid-run (revoked while a file runs), which the pre-flight gate cannot
    # see coming; with it, the file would wait in the inbox instead (tests/watch/test_gate.py)
    folders = Folders.of(settings)

    assert watch(settings, once=True, settle_seconds=0.05, preflight=False) == 1
    assert staff_files(folders.processing) == ["UIU P2E clean-up.xlsx"]
    assert staff_files(folders.done) == [] and staff_files(folders.rejected) == []
    waiting = Path(settings.outbox_dir) / "UIU P2E clean-up - WAITING.txt"
    assert "Alma refused the API key" in waiting.read_text()
    [mail] = smtp_server.messages
    assert mail["To"] == SYSTEMS
    assert mail["Subject"] == "P2E clean-up: UIU P2E clean-up.xlsx is waiting - Alma refused the API key"
    assert "Alma refused the API key: " in mail.get_body(("plain",)).get_content()

    # Tried again (cron's next watch --once, once the back-off has passed): still refused, no second email.
    make_due(settings)
    assert watch(settings, once=True, settle_seconds=0.05, preflight=False) == 1
    make_due(settings)
    assert watch(settings, once=True, settle_seconds=0.05, preflight=False) == 1
    assert len(smtp_server.messages) == 1
    assert staff_files(folders.processing) == ["UIU P2E clean-up.xlsx"]

    # Now Alma is unreachable instead: a different reason, one more email.
    settings.alma_api_key = sb.api_key
    settings.base_url = f"http://127.0.0.1:{free_port()}"
    make_due(settings)
    assert watch(settings, once=True, settle_seconds=0.05, preflight=False) == 1
    assert len(smtp_server.messages) == 2
    assert smtp_server.messages[-1]["Subject"].endswith("is waiting - Alma could not be reached")

    # The key and address are put right: the file runs, the WAITING file goes, the results are emailed.
    settings.base_url = sb.url
    make_due(settings)
    assert watch(settings, once=True, settle_seconds=0.05, preflight=False) == 0
    assert staff_files(folders.processing) == []
    assert staff_files(folders.done)[0].startswith("UIU P2E clean-up - processed ")
    assert not waiting.exists()
    assert {r["Result"] for r in results_rows(outbox(settings, "results")[0])} == {"Done"}
    assert smtp_server.messages[-1]["Subject"] == "P2E clean-up: UIU P2E clean-up.xlsx processed - 5 done"


def test_run_by_hand_with_a_refused_key_emails_once_that_the_file_waits(start_sandbox, tmp_path, smtp_server):
    from p2e.sandbox import write_workbook

    sb, library = start_sandbox(rows=3, mix="delete-only")
    config = write_config(tmp_path, sb, ALMA_API_KEY="l8xx-wrong", MAX_RETRIES="1", SMTP_HOST="127.0.0.1",
                          SMTP_PORT=str(smtp_server.port), SMTP_SECURITY="none", MAIL_FROM="p2e@library.example.edu",
                          MAIL_TO=SYSTEMS)
    path = write_workbook(library, tmp_path / "by hand.xlsx")
    try:
        assert main(["run", str(path), "--config", str(config)]) == 1
        assert main(["run", str(path), "--config", str(config)]) == 1  # the same wait: no second email
    finally:
        for handler in [h for h in logging.getLogger().handlers if getattr(h, "_p2e", False)]:
            logging.getLogger().removeHandler(handler)
            handler.close()
    [message] = smtp_server.messages
    assert message["Subject"] == "P2E clean-up: by hand.xlsx is waiting - Alma refused the API key"
    assert smtp_server.recipients[0] == [SYSTEMS]
    assert "Alma refused the API key: " in message.get_body(("plain",)).get_content()
    assert path.exists()  # `run` never moves the file it was given
