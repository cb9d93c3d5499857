"""The email for one file (p2e/notify/compose.py), as received by a real SMTP server on loopback."""
from __future__ import annotations

from p2e.notify import MailQueue, send_results
from tests.notify.conftest import mail_settings, processed_outcome, rejected_outcome


def test_the_results_email_has_a_summary_and_the_workbook_attached(tmp_path, smtp_server):
    settings = mail_settings(tmp_path, smtp_server.port)
    queue = MailQueue(tmp_path / "state" / "mail-queue")
    where = tmp_path / "inbox" / "done" / "UIU p2e - processed 2026-11-28 1412.xlsx"

    assert send_results(processed_outcome(tmp_path), settings, queue, where=where) is True

    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "P2E clean-up: UIU p2e.xlsx processed - 40 done, 2 failed"
    assert message["From"] == "p2e@library.example.edu"
    assert smtp_server.recipients[0] == ["cat@library.example.edu", "systems@library.example.edu"]
    body = message.get_body(("plain",)).get_content()
    assert "40 done, 2 failed" in body
    assert f"Your file is now: {where}" in body
    assert "UIU p2e - results 2026-11-28 1412.xlsx" in body
    name, workbook = smtp_server.attachment()
    assert name == "UIU p2e - results 2026-11-28 1412.xlsx"
    assert list(workbook["Results"].iter_rows(values_only=True))[1] == (3, "Done", "Portfolio 5312 deleted")
    assert len(queue) == 0


def test_a_rejection_email_lists_the_first_problems_and_says_nothing_changed(tmp_path, smtp_server):
    settings = mail_settings(tmp_path, smtp_server.port)
    send_results(rejected_outcome(tmp_path), settings, MailQueue(tmp_path / "q"))
    message = smtp_server.messages[0]
    assert message["Subject"] == "P2E clean-up: UIU p2e.xlsx was not processed - 2 problems to fix"
    body = message.get_body(("plain",)).get_content()
    assert "Excel rounded this MMS ID" in body and "The Action 'remove'" in body
    assert "Nothing was changed in Alma" in body
    assert smtp_server.attachment()[0] == "UIU p2e - REJECTED 2026-11-28 1412.xlsx"
